/**
 * Typed errors of the engine. Every failure a caller can cause (bad input, a bad model file) is an
 * EngineError with a stable `code`, so servers can map them to messages without parsing text.
 */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The drag request is invalid (points, mask, options). Nothing was run. */
export class DragInputError extends EngineError {
  constructor(message: string) {
    super('invalid-drag-input', message);
  }
}

/** A model file is missing, corrupt, or does not match its config. */
export class ModelLoadError extends EngineError {
  constructor(message: string) {
    super('model-load-failed', message);
  }
}

/** A requested backend is unknown or failed to initialise. */
export class BackendError extends EngineError {
  constructor(message: string) {
    super('backend-unavailable', message);
  }
}

/** A latent has the wrong size or holds non-finite values. */
export class LatentError extends EngineError {
  constructor(message: string) {
    super('invalid-latent', message);
  }
}

/** An uploaded image is refused: wrong type, too large, corrupt, or a bad crop. Nothing was decoded in full. */
export class ImageInputError extends EngineError {
  constructor(message: string) {
    super('invalid-image', message);
  }
}

/** An inversion request is invalid (target image size, options). Nothing was run. */
export class InvertInputError extends EngineError {
  constructor(message: string) {
    super('invalid-invert-input', message);
  }
}

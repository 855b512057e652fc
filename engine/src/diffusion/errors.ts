import { EngineError } from '../errors.js';

/** An input to a diffusion model (token ids, a prompt) is invalid. Nothing was run. */
export class DiffusionInputError extends EngineError {
  constructor(message: string) {
    super('invalid-diffusion-input', message);
  }
}

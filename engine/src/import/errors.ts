/** The error every importer failure raises: a refused or unreadable checkpoint, with the reason in the message. */
import { EngineError } from '../errors.js';

export class CheckpointImportError extends EngineError {
  constructor(message: string) {
    super('checkpoint-import-failed', message);
  }
}

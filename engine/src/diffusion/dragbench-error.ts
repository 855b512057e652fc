import { EngineError } from '../errors.js';

/** A DragBench case folder (or case.json) is missing a part, malformed, or inconsistent. Nothing was written. */
export class DragBenchError extends EngineError {
  constructor(message: string) {
    super('invalid-dragbench-case', message);
  }
}

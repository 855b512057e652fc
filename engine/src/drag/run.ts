/**
 * A drag run as an async iterator of step events, ending with one end event. Input is validated before the
 * iterator is returned, so a bad request throws a DragInputError at the call; failures during the run end
 * it with reason 'error' instead of throwing, and tensors are released however the run ends.
 */
import type { ImageGenerator } from '../generator/types.js';
import { EngineError } from '../errors.js';
import { validateDragRequest } from './options.js';
import { DragSession } from './session.js';
import type { DragEndEvent, DragEvent, DragOptions, DragRequest } from './types.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function dragRun(gen: ImageGenerator, request: DragRequest, signal?: AbortSignal): AsyncGenerator<DragEvent, void, undefined> {
  const options = validateDragRequest(gen, request);
  return runSteps(gen, request, options, signal);
}

async function* runSteps(gen: ImageGenerator, request: DragRequest, options: DragOptions, signal?: AbortSignal): AsyncGenerator<DragEvent, void, undefined> {
  const session = new DragSession(gen, request, options);
  const end = (reason: DragEndEvent['reason'], error?: DragEndEvent['error']): DragEndEvent => ({
    type: 'end',
    reason,
    steps: session.updatesApplied,
    ...(error ? { error } : {}),
  });
  try {
    for (let k = 0; ; k++) {
      // Cancellation is checked between steps: a step is never left half-applied.
      if (signal?.aborted) {
        yield end('cancelled');
        return;
      }
      let outcome;
      try {
        outcome = await session.step(k, k % options.imageEvery === 0);
      } catch (err) {
        const e = err as Error;
        yield end('error', { code: err instanceof EngineError ? err.code : 'engine-failure', message: e.message });
        return;
      }
      yield outcome.event;
      if (outcome.done) {
        yield end(outcome.done);
        return;
      }
      await yieldToEventLoop();
    }
  } finally {
    session.dispose();
  }
}

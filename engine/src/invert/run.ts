/**
 * An inversion as an async iterator of step events (plus a stage event as each stage ends), ending with one
 * end event, like a drag run: a bad request throws InvertInputError at the call; failures during the run end
 * it with reason 'error' and the last good latent; Stop (the signal) is honoured between steps.
 */
import type { ImageGenerator } from '../generator/types.js';
import { EngineError } from '../errors.js';
import { validateInvertRequest } from './options.js';
import { InvertSession } from './session.js';
import type { InvertEndEvent, InvertEvent, InvertOptions, InvertRequest } from './types.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function invertRun(gen: ImageGenerator, request: InvertRequest, signal?: AbortSignal): AsyncGenerator<InvertEvent, void, undefined> {
  const options = validateInvertRequest(gen, request);
  return runSteps(gen, request, options, signal);
}

async function* runSteps(gen: ImageGenerator, request: InvertRequest, options: InvertOptions, signal?: AbortSignal): AsyncGenerator<InvertEvent, void, undefined> {
  let session: InvertSession;
  try {
    session = new InvertSession(gen, request.target, options, request.detector, request.ptiBase, request.discriminator, request.lpips);
  } catch (err) {
    yield { type: 'end', reason: 'error', steps: 0, stages: [], latent: new Float32Array(0), error: describe(err) };
    return;
  }
  const end = (reason: InvertEndEvent['reason'], error?: InvertEndEvent['error']): InvertEndEvent => {
    // A failure keeps only a finished PTI stage's weights; a Stop keeps the weights as they were between steps.
    let ptiWeights = session.finishedTunedWeights;
    if (reason !== 'error') {
      try {
        ptiWeights = session.tunedWeights();
      } catch (err) {
        return { type: 'end', reason: 'error', steps: session.stepsApplied, stages: [...session.results], latent: session.currentLatent, error: describe(err) };
      }
    }
    return {
      type: 'end',
      reason,
      steps: session.stepsApplied,
      stages: [...session.results],
      latent: session.currentLatent,
      ...(ptiWeights ? { ptiWeights } : {}),
      ...(error ? { error } : {}),
    };
  };
  try {
    for (let k = 0; ; k++) {
      if (signal?.aborted) {
        yield end('cancelled');
        return;
      }
      let outcome;
      try {
        outcome = session.step(k % options.imageEvery === 0);
      } catch (err) {
        yield end('error', describe(err));
        return;
      }
      yield outcome.event;
      if (outcome.stageEnd) yield outcome.stageEnd;
      if (outcome.done) {
        yield end('done');
        return;
      }
      await yieldToEventLoop();
    }
  } finally {
    session.dispose();
  }
}

function describe(err: unknown): { code: string; message: string } {
  return { code: err instanceof EngineError ? err.code : 'engine-failure', message: (err as Error).message };
}

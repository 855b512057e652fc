/**
 * What a drag and an inversion do alike while their job is on a worker (drag-run.ts, invert-run.ts): each step is
 * recorded before its frame goes out (step-recorder.ts), the time limit counts from when a worker takes the job
 * (not from when it was queued), queue positions reach participants, Stop cancels the job, and the end's reason is
 * corrected for the time limit and for a step that could not be recorded (then the run's steps are those up to the
 * last durable record, and its final state is dropped so the room keeps what it had).
 */
import type { RunFrame } from '../../contract/events.js';
import type { DragListener } from '../jobs/job-queue.js';
import { errorMessage } from '../db/retry.js';
import type { StepRecorder } from './step-recorder.js';
import { storageError, type RunEnd } from './run-recorder.js';
import type { QueuedRun } from './run-queue.js';
import type { RunStatsRecorder } from './run-stats.js';
import type { DragRunContext } from './drag-run.js';

interface JobOf<E> {
  cancel(): void;
  readonly done: Promise<E>;
}

export interface JobTurn {
  /** Records steps and sends their frames, in step order. */
  readonly steps: StepRecorder;
  /** The job listener's start and position callbacks. */
  readonly listener: Pick<DragListener, 'onStart' | 'onPosition'>;
  /** Waits for the job's end, with the reason corrected; `workerFree` runs once the job has left the worker. */
  finish<E extends RunEnd & { final?: unknown }>(job: JobOf<E>, workerFree: () => void): Promise<E>;
}

export function startJobTurn(ctx: DragRunContext, run: QueuedRun, timing: RunStatsRecorder): JobTurn {
  const { recorder, broadcast, limits } = ctx;
  let job: JobOf<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const steps = recorder.steps(
    run.info.runId,
    (frame: RunFrame) => {
      run.info.step = frame.step;
      ctx.liveFrame(frame);
      broadcast.frame(frame);
    },
    () => job?.cancel(),
  );
  return {
    steps,
    listener: {
      onStart: () => {
        timer = setTimeout(() => {
          timedOut = true;
          job?.cancel();
        }, limits.runSeconds * 1000);
      },
      onPosition: (ahead) => {
        run.info.position = ahead;
        run.info.state = ahead > 0 ? 'queued' : 'running';
        ctx.queueChanged();
      },
    },
    async finish(started, workerFree) {
      job = started;
      run.cancelJob = () => started.cancel();
      if (run.cancelled) started.cancel();
      const end = await started.done.finally(() => {
        clearTimeout(timer);
        workerFree();
      });
      if (timedOut && end.reason === 'cancelled' && !run.cancelled) end.reason = 'time-limit';
      await steps.settled();
      recorder.addStats(timing.finish());
      if (steps.failure) {
        const { step, error } = steps.failure;
        end.reason = 'error';
        end.steps = Math.max(0, steps.lastRecorded);
        end.error = storageError(`step ${step} could not be recorded: ${errorMessage(error)}`);
        end.final = undefined;
      }
      return end;
    },
  };
}

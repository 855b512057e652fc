/**
 * What a drag and an inversion do alike while their job is on a worker (drag-run.ts, invert-run.ts): each step is
 * recorded before its frame goes out (step-recorder.ts), the time limit counts from when a worker takes the job
 * (not from when it was queued), queue positions reach participants, Stop cancels the job, and the end's reason is
 * corrected for the time limit and for a step that could not be recorded (then the run's steps are those up to the
 * last durable record, and its final state is dropped so the room keeps what it had). A run whose records bring
 * its room to its storage limit is stopped like a Stop and ends 'storage-limit': the steps recorded until the
 * worker sees the cancel (one or two past the limit) are kept, so the limit is crossed by at most those.
 */
import type { RunFrame } from '../../contract/events.js';
import type { DragListener } from '../jobs/job-queue.js';
import { errorMessage } from '../db/retry.js';
import type { StepRecorder } from './step-recorder.js';
import { storageError, type RunEnd } from './run-recorder.js';
import type { QueuedRun } from './run-queue.js';
import type { RunStatsRecorder } from './run-stats.js';
import type { DragRunContext } from './drag-run.js';
import type { RoomRecord } from '../rooms/room-store.js';
import { stepRecordBytes, storageFullMessage, StorageBudget } from './room-storage.js';

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

/** The room a run about to begin works in, or the end of a run whose room is gone or cannot be read. */
export async function turnRoom(ctx: DragRunContext, roomId: string): Promise<{ room: RoomRecord } | { end: RunEnd }> {
  let room: RoomRecord | null;
  try {
    room = await ctx.recorder.room(roomId);
  } catch (err) {
    return { end: { reason: 'error', steps: 0, error: storageError(`the room could not be read: ${errorMessage(err)}`) } };
  }
  if (!room) return { end: { reason: 'error', steps: 0, error: { code: 'not-found', message: 'room not found' } } };
  return { room };
}

/**
 * The room's storage budget for a run about to begin (its stored bytes now), or the end of a run that cannot
 * begin: the room is at its limit (a run queued while another filled it), or its size could not be read.
 */
export async function turnStorage(ctx: DragRunContext, roomId: string): Promise<{ budget: StorageBudget } | { end: RunEnd }> {
  let used: number;
  try {
    used = await ctx.recorder.storageUsed(roomId);
  } catch (err) {
    return { end: { reason: 'error', steps: 0, error: storageError(`the room's stored size could not be read: ${errorMessage(err)}`) } };
  }
  const budget = new StorageBudget(used, ctx.limits.roomStorageBytes);
  if (used >= budget.limitBytes) return { end: { reason: 'storage-limit', steps: 0, error: { code: 'storage-full', message: storageFullMessage(budget.usage) } } };
  return { budget };
}

export function startJobTurn(ctx: DragRunContext, run: QueuedRun, timing: RunStatsRecorder, budget: StorageBudget): JobTurn {
  const { recorder, broadcast, limits } = ctx;
  let job: JobOf<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let full = false;
  const steps = recorder.steps(
    run.info.runId,
    (frame: RunFrame) => {
      run.info.step = frame.step;
      ctx.liveFrame(frame);
      broadcast.frame(frame);
    },
    () => job?.cancel(),
    (record) => {
      if (budget.add(stepRecordBytes(record)) && !full) {
        full = true;
        job?.cancel();
      }
    },
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
      if (run.cancelled || full) started.cancel();
      const end = await started.done.finally(() => {
        clearTimeout(timer);
        workerFree();
      });
      await steps.settled();
      if (end.reason === 'cancelled' && !run.cancelled) {
        if (full) {
          end.reason = 'storage-limit';
          end.error = { code: 'storage-full', message: storageFullMessage(budget.usage) };
        } else if (timedOut) end.reason = 'time-limit';
      }
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

/**
 * A photo's inversion as a run of its room, through the same roles as a drag (drag-run.ts): the recorder
 * writes its start (kind 'invert'; the fitted target photo is its "before" image, kept with the room for good)
 * and every step's latent and stored frame before the frame goes out, the broadcaster streams its frames and
 * queue state, Stop cancels it within a step. Unlike a drag, its result is written whatever the end: after
 * Stop, the time limit or a failure mid-run the room takes the last good latent the engine hands back (and its
 * render), so a room made from a photo is always usable. Only a storage failure keeps the room as it was.
 * With pivotal tuning (settings.ptiSteps > 0) the end's tuned weights are written with the room's new latent and
 * image in that same transaction; an end without them (tuning failed, or never reached) leaves the room with its
 * model's weights and the W/W+ latent.
 */
import type { RunFrame } from '../../contract/events.js';
import type { NewRun, RunResult } from '../rooms/history-store.js';
import { errorMessage } from '../db/retry.js';
import type { SharedDoc } from '../yjs/shared-doc.js';
import { storedFrameEvery } from './stored-frames.js';
import type { RoomError } from '../rooms/room-service.js';
import { RunStatsRecorder } from './run-stats.js';
import { storageError, type RunEnd } from './run-recorder.js';
import { startJobTurn, turnRoom, turnStorage } from './job-turn.js';
import { runStartBytes } from './room-storage.js';
import type { QueuedRun } from './run-queue.js';
import type { DragRunContext } from './drag-run.js';

/**
 * Frames go out every FRAME_EVERY steps (the engine draws only those): an inversion's image changes little
 * from one step to the next, and drawing each step would cost a render on top of the step's own.
 */
const FRAME_EVERY = 2;

export async function runInversion(ctx: DragRunContext, run: QueuedRun, workerFree: () => void): Promise<void> {
  const { roomId } = run;
  const ended = (e: RunEnd) => ctx.broadcast.ended({ roomId, runId: run.info.runId, ...e });
  let doc: SharedDoc;
  try {
    doc = await ctx.docs.acquire(roomId);
  } catch (err) {
    return ended({ reason: 'error', steps: 0, error: storageError(`the room's document could not be loaded: ${errorMessage(err)}`) });
  }
  try {
    ended(await invertInRoom(ctx, run, doc, workerFree));
  } finally {
    ctx.docs.release(doc);
  }
}

async function invertInRoom(ctx: DragRunContext, run: QueuedRun, doc: SharedDoc, workerFree: () => void): Promise<RunEnd> {
  const { rooms, jobs, broadcast, recorder } = ctx;
  const { roomId } = run;
  const runId = run.info.runId;
  const { target, settings } = run.invert!;
  const found = await turnRoom(ctx, roomId);
  if ('end' in found) return found.end;
  const { room } = found;
  let modelPath: string;
  try {
    modelPath = rooms.modelPath(room);
  } catch (err) {
    return { reason: 'error', steps: 0, error: { code: (err as RoomError).code ?? 'model-unavailable', message: errorMessage(err) } };
  }
  let lpipsPath: string | undefined;
  if (settings.loss === 'lpips') {
    // Checked at the upload too; the file may have gone since.
    lpipsPath = rooms.lpipsPath() ?? undefined;
    if (!lpipsPath) return { reason: 'error', steps: 0, error: { code: 'lpips-unavailable', message: 'LPIPS-VGG16\'s weights are no longer on the server; choose another loss' } };
  }
  const size = rooms.size(room);
  const maxSteps = settings.wSteps + settings.wPlusSteps + (settings.ptiSteps ?? 0);
  run.info.maxSteps = maxSteps;
  const storage = await turnStorage(ctx, roomId);
  if ('end' in storage) return storage.end;
  const timing = new RunStatsRecorder(runId);
  const start: NewRun = {
    id: runId, roomId, startedBy: run.by, kind: 'invert', method: 'invert', points: [], settings, mask: null, maskStrokes: null,
    latentBefore: room.latent, imageBefore: target, imageBeforeType: 'image/png',
  };
  try {
    await recorder.begin(start);
  } catch (err) {
    return { reason: 'error', steps: 0, error: storageError(`the inversion could not be recorded: ${errorMessage(err)}`) };
  }
  storage.budget.add(runStartBytes(start));
  broadcast.history(roomId);
  let lastStepStored = true;
  const turn = startJobTurn(ctx, run, timing, storage.budget);
  const { steps } = turn;
  // A multiple of FRAME_EVERY, so the steps that keep a frame are steps the engine drew.
  const storeFrameEvery = Math.max(FRAME_EVERY, storedFrameEvery(size));
  const job = jobs.invert(
    { modelPath, target, settings, frameFormat: ctx.frameFormat ?? 'webp', frameQuality: ctx.frameQuality ?? 80, frameEvery: FRAME_EVERY, storeFrameEvery, ...(lpipsPath ? { lpipsPath } : {}) },
    {
      ...turn.listener,
      onStep: (s) => {
        const producedAt = Date.now();
        timing.step(s.elapsedMs, s.image?.bytes.byteLength);
        lastStepStored = !!s.stored;
        const record = {
          runId, step: s.step, handles: [], distances: [], confidences: [], latent: s.latent,
          frame: s.stored?.bytes ?? null, frameType: s.stored?.mime ?? null, elapsedMs: s.elapsedMs,
        };
        const frame: RunFrame | null = s.image
          ? {
              roomId, runId, step: s.step, maxSteps, handles: [], targets: [], distances: [], confidences: [], image: s.image,
              final: false, producedAt, inversion: { stage: s.stage, loss: s.loss },
            }
          : null;
        steps.add(record, frame);
      },
    },
  );
  const end = await turn.finish(job, workerFree);
  let final = end.final;
  if (!final && !steps.failure && steps.lastRecorded >= 0) final = await lastRecordedState(ctx, runId, steps.lastRecorded, modelPath);
  const lastFrame = steps.lastSent;
  if (final) {
    // Everyone ends on the room's new image, which is the render of the last good latent.
    broadcast.frame({
      ...(lastFrame ?? { roomId, runId, maxSteps, handles: [], targets: [], distances: [], confidences: [] }),
      step: Math.max(0, steps.lastRecorded), image: final.image, final: true, producedAt: Date.now(),
    });
  } else if (lastFrame) broadcast.frame({ ...lastFrame, final: true, producedAt: Date.now() });
  if (final && !lastStepStored && !steps.failure && steps.lastRecorded >= 0) await recorder.keepLastFrame(runId, steps.lastRecorded, final.image);
  const result: RunResult | undefined = final
    ? { roomId, latent: final.latent, image: final.image.bytes, imageType: final.image.mime, docUpdate: null, ...(final.weights ? { weights: final.weights } : {}) }
    : undefined;
  const outcome: RunEnd = { reason: end.reason, steps: end.steps, ...(end.error ? { error: end.error } : {}) };
  const written = await recorder.finish(roomId, runId, doc, outcome, result, null);
  if (written.saved && final) broadcast.image(roomId, final.image);
  broadcast.history(roomId);
  return written.end;
}

/**
 * The last recorded step's latent and its render, for an inversion whose worker gave no final state (it
 * crashed or hung): the room still ends on the last good latent. Undefined when that cannot be had either.
 */
async function lastRecordedState(ctx: DragRunContext, runId: string, step: number, modelPath: string) {
  try {
    const record = await ctx.recorder.step(runId, step);
    if (!record) return undefined;
    const rendered = await ctx.jobs.render({ modelPath, latent: record.latent, format: 'png' }, { caller: `run:${runId}` });
    return { latent: record.latent, image: rendered.image };
  } catch (err) {
    console.warn(`[runs] ${runId}: the inversion's last recorded state could not be restored: ${errorMessage(err)}`);
    return undefined;
  }
}

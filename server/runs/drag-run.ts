/**
 * One drag run's turn, from its snapshot of the room to its end: the run takes its points, mask and settings from
 * the room's shared document when its turn comes (not when it is queued, since the run before it moves the
 * handles), sends the job to a worker, passes each step to the recorder and each recorded step's frame to the
 * broadcaster, and ends with its tracked handles, the room's image and latent and the run's end written in one
 * transaction. Failed writes are retried; past that, the run ends with a 'storage' error.
 */
import type { EncodedImage, RunFrame } from '../../contract/events.js';
import { DIFFUSION_PROMPT_KEY } from '../../contract/diffusion-settings.js';
import { completePairs, readDiffusionPrompt, readDiffusionSettings, readMask, readSettings } from '../../contract/room-doc.js';
import { roomMasks } from './mask-rasterizer.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { DragJobRequest, FrameFormat } from '../jobs/worker-protocol.js';
import type { NewRun, RunResult } from '../rooms/history-store.js';
import { errorMessage } from '../db/retry.js';
import type { SharedDoc } from '../yjs/shared-doc.js';
import { storedFrameEvery } from './stored-frames.js';
import { handleMoves } from './handle-moves.js';
import type { RoomError, RoomService } from '../rooms/room-service.js';
import type { RunBroadcaster } from './run-broadcaster.js';
import { RunStatsRecorder } from './run-stats.js';
import { storageError, type RunEnd, type RunRecorder } from './run-recorder.js';
import { startJobTurn, turnRoom, turnStorage } from './job-turn.js';
import { runStartBytes } from './room-storage.js';
import type { QueuedRun } from './run-queue.js';
import type { ServerLimits } from '../limits.js';

export interface DragRunContext {
  jobs: JobQueue;
  docs: DocServer;
  rooms: RoomService;
  recorder: RunRecorder;
  broadcast: RunBroadcaster;
  frameFormat?: FrameFormat;
  frameQuality?: number;
  limits: Pick<ServerLimits, 'runSeconds' | 'maxSteps' | 'stallSteps' | 'roomStorageBytes'>;
  /** Told the room's newest frame (what a participant joining mid-run is shown first). */
  liveFrame: (frame: RunFrame) => void;
  /** Told when anything about the run that participants see in the queue changed. */
  queueChanged: () => void;
}

/** Runs `run`; `workerFree` is called once its job has left the worker. */
export async function runDrag(ctx: DragRunContext, run: QueuedRun, workerFree: () => void): Promise<void> {
  const { docs } = ctx;
  const { roomId } = run;
  const ended = (e: RunEnd) => ctx.broadcast.ended({ roomId, runId: run.info.runId, ...e });
  let doc: SharedDoc;
  try {
    doc = await docs.acquire(roomId);
  } catch (err) {
    return ended({ reason: 'error', steps: 0, error: storageError(`the room's document could not be loaded: ${errorMessage(err)}`) });
  }
  try {
    ended(await onDoc(ctx, run, doc, workerFree));
  } finally {
    docs.release(doc);
  }
}

async function onDoc(ctx: DragRunContext, run: QueuedRun, doc: SharedDoc, workerFree: () => void): Promise<RunEnd> {
  const { rooms, jobs, broadcast, recorder, limits } = ctx;
  const { roomId } = run;
  const runId = run.info.runId;
  const found = await turnRoom(ctx, roomId);
  if ('end' in found) return found.end;
  const { room } = found;
  const size = rooms.size(room);
  let model: ReturnType<RoomService['modelOf']>;
  try {
    model = rooms.modelOf(room);
  } catch (err) {
    // The model went away while the run waited: it ends before anything is recorded.
    return { reason: 'error', steps: 0, error: { code: (err as RoomError).code ?? 'model-unavailable', message: errorMessage(err) } };
  }
  let weights: Uint8Array | undefined;
  try {
    weights = await rooms.weights(roomId);
  } catch (err) {
    return { reason: 'error', steps: 0, error: storageError(`the room's tuned weights could not be read: ${errorMessage(err)}`) };
  }
  const modelPath = model.path;
  const diffusion = model.kind === 'diffusion';
  // The snapshot: nothing a peer does from here on changes this run. A diffusion room's settings are its own map.
  const pairs = completePairs(doc);
  const strokes = readMask(doc);
  const ganSettings = diffusion ? undefined : readSettings(doc);
  const diffusionSettings = diffusion ? readDiffusionSettings(doc) : undefined;
  const settings = (diffusionSettings ?? ganSettings)!;
  settings.maxSteps = Math.min(settings.maxSteps, limits.maxSteps);
  // The room's own prompt, else the model card's; the run records the room's (a fork carries it on).
  const roomPrompt = diffusion ? readDiffusionPrompt(doc) : undefined;
  const recordedSettings = roomPrompt !== undefined ? { ...settings, [DIFFUSION_PROMPT_KEY]: roomPrompt } : settings;
  if (pairs.length === 0) return { reason: 'error', steps: 0, error: { code: 'no-points', message: 'no complete handle/target pair' } };
  // Off the event loop's critical path: a mask at the document limits takes a while to rasterise.
  const mask = await roomMasks.rasterize(strokes, size);
  run.info.maxSteps = settings.maxSteps;
  const targets = pairs.map((p) => p.target);
  const storage = await turnStorage(ctx, roomId);
  if ('end' in storage) return storage.end;
  const timing = new RunStatsRecorder(runId);
  // The run record (with the state undo returns to) is durable before the first frame goes out.
  const start: NewRun = {
    id: runId, roomId, startedBy: run.by, kind: 'drag', method: settings.method, points: pairs, settings: recordedSettings,
    mask: mask ?? null, maskStrokes: strokes, latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
  };
  try {
    await recorder.begin(start);
  } catch (err) {
    return { reason: 'error', steps: 0, error: storageError(`the run could not be recorded: ${errorMessage(err)}`) };
  }
  storage.budget.add(runStartBytes(start));
  broadcast.history(roomId);
  // A diffusion drag's stages come before its first step: their frames show the room's image.
  let lastImage: EncodedImage | undefined = diffusion ? rooms.image(room) : undefined;
  /** Whether the newest step recorded kept its frame (stored-frames.ts: the last step must keep one). */
  let lastStepStored = true;
  /** The final denoising's step count, from its stage frames: the final frame reports it as complete. */
  let denoiseSteps = 1;
  const turn = startJobTurn(ctx, run, timing, storage.budget);
  const { steps } = turn;
  const points = pairs.map(({ handle, target }) => ({ handle, target }));
  const frameFormat = ctx.frameFormat ?? 'webp';
  const frameQuality = ctx.frameQuality ?? 80;
  const request: DragJobRequest = diffusion
    ? { kind: 'diffusion', modelPath, image: room.image, prompt: roomPrompt ?? model.prompt ?? '', points, mask, settings: diffusionSettings!, frameFormat, frameQuality }
    : {
        modelPath, latent: room.latent, weights, points, mask, settings: ganSettings!, stallSteps: limits.stallSteps,
        frameFormat, frameQuality, record: true, storeFrameEvery: storedFrameEvery(size),
      };
  const job = jobs.drag(
    request,
    {
      ...turn.listener,
      onStep: (s) => {
        const producedAt = Date.now();
        if (s.diffusion?.stage === 'denoise') denoiseSteps = s.diffusion.stageSteps;
        timing.step(s.elapsedMs, s.image?.bytes.byteLength);
        const record = s.latent
          ? {
              runId, step: s.step, handles: s.handles, distances: s.distances, confidences: s.confidences,
              latent: s.latent, latentHalf: diffusion, frame: s.stored?.bytes ?? null, frameType: s.stored?.mime ?? null, elapsedMs: s.elapsedMs,
            }
          : null;
        if (record) lastStepStored = !!s.stored;
        const image = s.image ?? lastImage;
        lastImage = image;
        const frame: RunFrame | null = image
          ? {
              roomId, runId, step: s.step, maxSteps: settings.maxSteps, handles: s.handles, targets,
              distances: s.distances, confidences: s.confidences, image, final: false, producedAt, ...(s.diffusion ? { diffusion: s.diffusion } : {}),
            }
          : null;
        steps.add(record, frame);
      },
    },
  );
  const end = await turn.finish(job, workerFree);
  const final = steps.lastSent;
  const finalState = end.final && end.reason !== 'error' ? end.final : undefined;
  // A diffusion drag's result is its final denoising, after its last step: the final frame shows it.
  const denoised = diffusion && finalState ? { image: finalState.image, diffusion: { stage: 'denoise' as const, stageStep: denoiseSteps, stageSteps: denoiseSteps } } : {};
  if (final) broadcast.frame({ ...final, ...denoised, final: true, producedAt: Date.now() });
  const moves = finalState ? handleMoves(doc, pairs.map((p, i) => ({ id: p.id, handle: finalState.handles[i] ?? p.handle }))) : null;
  const result: RunResult | undefined = finalState
    ? { roomId, latent: finalState.latent, image: finalState.image.bytes, imageType: finalState.image.mime, docUpdate: moves?.update ?? null }
    : undefined;
  if (finalState && !lastStepStored && steps.lastRecorded >= 0) await recorder.keepLastFrame(runId, steps.lastRecorded, finalState.image);
  const outcome: RunEnd = { reason: end.reason, steps: end.steps, ...(end.error ? { error: end.error } : {}) };
  const written = await recorder.finish(roomId, runId, doc, outcome, result, moves);
  if (written.saved && finalState) broadcast.image(roomId, finalState.image);
  broadcast.history(roomId);
  return written.end;
}

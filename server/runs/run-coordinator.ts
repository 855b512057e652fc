/**
 * Runs in rooms. Each room has a FIFO of runs and executes one at a time; the run takes its snapshot of
 * points, mask and settings from the room's shared document when it starts (not when it is queued, since
 * the run before it moves the handles). Steps are broadcast as frames; when a run ends its tracked handles
 * are written back to the document and the room's image and latent are saved.
 */
import type { EncodedImage, Point, PublicUser, RunEnded, RunFrame, RunInfo, RunQueueState } from '../protocol/events.js';
import { completePairs, moveHandles, readMask, readSettings } from '../protocol/room-doc.js';
import { roomMasks } from './mask-rasterizer.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { JobQueue, DragJobHandle } from '../jobs/job-queue.js';
import type { FrameFormat } from '../jobs/worker-protocol.js';
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import { newRunId } from '../rooms/tokens.js';
import type { RunBroadcaster } from './run-broadcaster.js';
import { RunStatsRecorder, type RunStats } from './run-stats.js';
import type { ServerLimits } from '../limits.js';

export interface RunCoordinatorDeps {
  jobs: JobQueue;
  docs: DocServer;
  store: RoomStore;
  rooms: RoomService;
  broadcast: RunBroadcaster;
  frameFormat?: FrameFormat;
  frameQuality?: number;
  limits: Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runSeconds' | 'maxSteps' | 'stallSteps'>;
}

interface Run {
  info: RunInfo;
  by: PublicUser | null;
  cancelled: boolean;
  job?: DragJobHandle;
}

interface RoomRuns {
  queued: Run[];
  current?: Run;
  liveFrame: RunFrame | null;
}

export class RunCoordinator {
  private readonly rooms = new Map<string, RoomRuns>();
  private readonly running = new Set<Promise<void>>();
  /** The most recent finished runs' numbers, newest last (a short ring). */
  readonly stats: RunStats[] = [];
  private closed = false;
  /** RunQueueState.version: one counter for all rooms is enough to order any room's states. */
  private stateVersion = 0;

  constructor(private readonly deps: RunCoordinatorDeps) {}

  private room(roomId: string): RoomRuns {
    let r = this.rooms.get(roomId);
    if (!r) this.rooms.set(roomId, (r = { queued: [], liveFrame: null }));
    return r;
  }

  state(roomId: string): RunQueueState {
    const r = this.rooms.get(roomId);
    const base = r?.current && r.current.info.position > 0 ? r.current.info.position : 0;
    return {
      roomId,
      version: ++this.stateVersion,
      current: r?.current ? { ...r.current.info } : null,
      queued: (r?.queued ?? []).map((run, i) => ({ ...run.info, position: base + i + 1 })),
    };
  }

  liveFrame(roomId: string): RunFrame | null {
    return this.rooms.get(roomId)?.liveFrame ?? null;
  }

  /** Queues a run; refuses when the document has no complete handle/target pair. */
  async start(roomId: string, by: PublicUser | null): Promise<{ runId: string; position: number }> {
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    const doc = await this.deps.docs.acquire(roomId);
    try {
      if (completePairs(doc).length === 0) throw new RoomError('no-points', 'add at least one handle and its target first');
    } finally {
      this.deps.docs.release(doc);
    }
    const r = this.room(roomId);
    const { queuedRunsPerRoom, runsPerUser } = this.deps.limits;
    if (r.queued.length >= queuedRunsPerRoom) throw new RoomError('limit', `this room already has ${queuedRunsPerRoom} runs waiting`);
    if (by && this.runsBy(by.id) >= runsPerUser) throw new RoomError('limit', `you already have ${runsPerUser} runs waiting or running`);
    const run: Run = { info: { runId: newRunId(), by, state: 'queued', position: 0, maxSteps: 0, step: 0 }, by, cancelled: false };
    r.queued.push(run);
    const position = r.current ? r.queued.length : 0;
    this.pump(roomId);
    return { runId: run.info.runId, position };
  }

  /** Runs a user has waiting or running, in every room. */
  private runsBy(userId: string): number {
    let n = 0;
    for (const r of this.rooms.values()) for (const run of [r.current, ...r.queued]) if (run && !run.cancelled && run.by?.id === userId) n++;
    return n;
  }

  /** Cancels the running run and everything queued in the room. Returns how many runs were cancelled. */
  stop(roomId: string): number {
    const r = this.rooms.get(roomId);
    if (!r) return 0;
    let n = r.queued.length;
    for (const run of r.queued) run.cancelled = true;
    r.queued = [];
    if (r.current && !r.current.cancelled) {
      r.current.cancelled = true;
      r.current.job?.cancel();
      n++;
    }
    this.deps.broadcast.queue(this.state(roomId));
    return n;
  }

  private pump(roomId: string): void {
    const r = this.room(roomId);
    if (r.current || this.closed) {
      this.deps.broadcast.queue(this.state(roomId));
      return;
    }
    const run = r.queued.shift();
    if (!run) {
      this.deps.broadcast.queue(this.state(roomId));
      return;
    }
    r.current = run;
    const p = this.execute(roomId, run)
      .catch((err) => console.error(`[runs] ${roomId}/${run.info.runId} failed:`, err))
      .finally(() => {
        this.running.delete(p);
        r.current = undefined;
        r.liveFrame = null;
        this.pump(roomId);
      });
    this.running.add(p);
  }

  private async execute(roomId: string, run: Run): Promise<void> {
    const { docs, store, rooms, jobs, broadcast } = this.deps;
    const ended = (e: Omit<RunEnded, 'roomId' | 'runId'>) => broadcast.ended({ roomId, runId: run.info.runId, ...e });
    const doc = await docs.acquire(roomId);
    try {
      const room = await store.get(roomId);
      if (!room) return ended({ reason: 'error', steps: 0, error: { code: 'not-found', message: 'room not found' } });
      const resolution = rooms.image(room).width;
      // The snapshot: nothing a peer does from here on changes this run.
      const pairs = completePairs(doc);
      const strokes = readMask(doc);
      const settings = readSettings(doc);
      settings.maxSteps = Math.min(settings.maxSteps, this.deps.limits.maxSteps);
      if (pairs.length === 0) return ended({ reason: 'error', steps: 0, error: { code: 'no-points', message: 'no complete handle/target pair' } });
      // Off the event loop's critical path: a mask at the document limits takes a while to rasterise.
      const mask = await roomMasks.rasterize(strokes, resolution);
      run.info.maxSteps = settings.maxSteps;
      const targets = pairs.map((p) => p.target);
      const recorder = new RunStatsRecorder(run.info.runId);
      const r = this.room(roomId);
      let lastFrame: RunFrame | null = null;
      // The run record (with the state undo returns to) is durable before the first frame goes out.
      await store.createRun({
        id: run.info.runId, roomId, startedBy: run.by, kind: 'drag', method: settings.method, points: pairs, settings,
        mask: mask ?? null, maskStrokes: strokes, latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
      });
      broadcast.history(roomId);
      // Step records are written in order; each step's frame goes out once its record is durable (one small
      // SQLite insert, ~1 ms), and the run's end waits for all of them.
      let writes: Promise<void> = Promise.resolve();
      let writeError: unknown = null;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const job = jobs.drag(
        {
          modelPath: rooms.modelPath(room), latent: room.latent, points: pairs.map(({ handle, target }) => ({ handle, target })), mask, settings,
          stallSteps: this.deps.limits.stallSteps,
          frameFormat: this.deps.frameFormat ?? 'webp', frameQuality: this.deps.frameQuality ?? 80, record: true,
        },
        {
          // The duration limit counts from when a worker takes the run, not from when it was queued.
          onStart: () => {
            timer = setTimeout(() => {
              timedOut = true;
              job.cancel();
            }, this.deps.limits.runSeconds * 1000);
          },
          onPosition: (ahead) => {
            run.info.position = ahead;
            run.info.state = ahead > 0 ? 'queued' : 'running';
            broadcast.queue(this.state(roomId));
          },
          onStep: (s) => {
            const producedAt = Date.now();
            recorder.step(s.elapsedMs, s.image?.bytes.byteLength);
            if (s.latent && s.stored) {
              const rec = {
                runId: run.info.runId, step: s.step, handles: s.handles, distances: s.distances, confidences: s.confidences,
                latent: s.latent, frame: s.stored.bytes, frameType: s.stored.mime, elapsedMs: s.elapsedMs,
              };
              writes = writes.then(() => store.addStep(rec)).catch((err) => void (writeError ??= err));
            }
            const image: EncodedImage | undefined = s.image ?? lastFrame?.image;
            if (!image) return;
            run.info.step = s.step;
            lastFrame = {
              roomId, runId: run.info.runId, step: s.step, maxSteps: settings.maxSteps, handles: s.handles, targets,
              distances: s.distances, confidences: s.confidences, image, final: false, producedAt,
            };
            r.liveFrame = lastFrame;
            const frame = lastFrame;
            writes = writes.then(() => broadcast.frame(frame));
          },
        },
      );
      run.job = job;
      if (run.cancelled) job.cancel();
      const end = await job.done.finally(() => clearTimeout(timer));
      if (timedOut && end.reason === 'cancelled' && !run.cancelled) end.reason = 'time-limit';
      await writes;
      if (writeError) console.error(`[runs] ${roomId}/${run.info.runId}: a step record failed:`, writeError);
      this.stats.push(recorder.finish());
      if (this.stats.length > 20) this.stats.shift();
      const final: RunFrame | null = lastFrame;
      if (final) broadcast.frame({ ...(final as RunFrame), final: true, producedAt: Date.now() });
      if (end.final && end.reason !== 'error') {
        const handles: Point[] = end.final.handles;
        moveHandles(doc, pairs.map((p, i) => ({ id: p.id, handle: handles[i] ?? p.handle })));
        await store.saveImage(roomId, { latent: end.final.latent, image: end.final.image.bytes, imageType: end.final.image.mime });
      }
      await store.finishRun(run.info.runId, { reason: end.reason, steps: end.steps, error: end.error?.message });
      if (end.final && end.reason !== 'error') broadcast.image(roomId, end.final.image);
      broadcast.history(roomId);
      ended({ reason: end.reason, steps: end.steps, ...(end.error ? { error: end.error } : {}) });
    } finally {
      docs.release(doc);
    }
  }

  /** Whether a run is running or queued in the room (undo waits for a quiet room). */
  busy(roomId: string): boolean {
    const r = this.rooms.get(roomId);
    return !!r && (!!r.current || r.queued.length > 0);
  }

  /** Cancels everything and waits for running runs to finish writing their results. */
  async close(): Promise<void> {
    this.closed = true;
    for (const roomId of this.rooms.keys()) this.stop(roomId);
    await Promise.allSettled([...this.running]);
  }
}

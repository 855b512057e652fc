/**
 * What a room does with its recorded runs (issue 5): the timeline, a stored step for one viewer, fork from
 * a step into a new linked room, and multi-level undo and redo of drags (themselves recorded in the timeline).
 */
import { HISTORY_PAGE, type HistoryPage, type HistoryPageRequest, type HistoryRun, type HistoryStep, type Point, type PublicUser, type UndoRedo } from '../../contract/events.js';
import { addMaskStroke, addPoint, completePairs, setDiffusionPrompt, updateDiffusionSettings, updateSettings } from '../../contract/room-doc.js';
import { checkDiffusionPrompt, DIFFUSION_PROMPT_KEY, type DiffusionSettings } from '../../contract/diffusion-settings.js';
import { errorMessage, withRetries, type RetryPolicy } from '../db/retry.js';
import { handleMoves, writeThenApply } from './handle-moves.js';
import type { RunSettings } from '../../contract/run-settings.js';
import type { DocServer } from '../yjs/doc-server.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { RoomRecord, RoomStore } from '../rooms/room-store.js';
import type { RunRecord, RunSummary, RunUndoEntry } from '../rooms/history-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import { newRunId } from '../rooms/tokens.js';
import { cleanDisplayText, MAX_TITLE_GRAPHEMES } from '../../contract/display-text.js';
import { replayUndoStack } from './undo-stack.js';
import { stepUsesWeights } from './tuned-steps.js';
import { nextTurn } from '../next-turn.js';
import type { RunBroadcaster } from './run-broadcaster.js';
import { diffusionStepDecoded } from './diffusion-steps.js';
import type { StepFrames } from './step-frames.js';
import type { RunCoordinator } from './run-coordinator.js';

export interface RoomHistoryDeps {
  store: RoomStore;
  docs: DocServer;
  jobs: JobQueue;
  rooms: RoomService;
  /** Stored steps' frames (rendered again from their latents where only those were kept). */
  frames: StepFrames;
  runs: RunCoordinator;
  broadcast: RunBroadcaster;
  /** For the undo and redo entries' writes. */
  retry: RetryPolicy;
  log?: (line: string) => void;
}

const FORK_USER: PublicUser = { id: 'fork', name: 'Fork', color: '#888888' };

export function historyRun(run: RunSummary): HistoryRun {
  return {
    runId: run.id, seq: run.seq, kind: run.kind, by: run.startedBy, method: run.method, status: run.status,
    endReason: run.endReason, steps: run.steps, recorded: run.recorded, targets: run.points.map((p) => p.target),
    startedAt: run.startedAt.toISOString(), endedAt: run.endedAt?.toISOString() ?? null,
  };
}

export class RoomHistory {
  constructor(private readonly deps: RoomHistoryDeps) {}

  /**
   * A page of the timeline, newest entries first asked for. Reads only the runs' small columns (no stored
   * image, latent or mask) and one small row per entry for the undo/redo replay, so a long timeline lists
   * as fast as a short one.
   */
  async list(roomId: string, req: HistoryPageRequest = {}): Promise<HistoryPage> {
    const { store } = this.deps;
    const limit = Math.min(HISTORY_PAGE.maxRuns, req.limit ?? HISTORY_PAGE.defaultRuns);
    const page = await store.listRunPage(roomId, { before: req.before, limit });
    await nextTurn();
    const entries = await store.listUndoEntries(roomId);
    await nextTurn();
    const [total, room, forks, storage] = await Promise.all([store.countRuns(roomId), store.get(roomId), store.listForks(roomId), this.deps.runs.storage(roomId)]);
    if (!room) throw new RoomError('not-found', 'room not found');
    const parent = room.parentRoomId ? await store.get(room.parentRoomId) : null;
    // Ids and titles only, never tokens (see LineageRoom).
    const link = (r: RoomRecord) => ({ roomId: r.id, title: r.title, runId: r.forkRunId, step: r.forkStep });
    const oldest = page.at(-1);
    return {
      runs: page.reverse().map(historyRun),
      // Sequence numbers run 1, 2, ... with no gaps (runs are never deleted), so seq 1 is the first entry.
      older: oldest && oldest.seq > 1 ? oldest.seq : null,
      total,
      undoRedo: RoomHistory.available(entries),
      lineage: { parent: parent ? { ...link(parent), runId: room.forkRunId, step: room.forkStep } : null, forks: forks.map(link) },
      storage,
    };
  }

  /** The run, checked to belong to the room. */
  private async runOf(roomId: string, runId: unknown): Promise<RunRecord> {
    const run = typeof runId === 'string' ? await this.deps.store.getRun(runId) : null;
    if (!run || run.roomId !== roomId) throw new RoomError('not-found', 'no such run in this room');
    return run;
  }

  /** `caller` (the client's address) shares the render queue fairly when the frame must be rendered again. */
  async step(roomId: string, req: { runId: unknown; step: unknown }, caller?: string): Promise<HistoryStep> {
    const run = await this.runOf(roomId, req.runId);
    const s = Number.isInteger(req.step) ? await this.deps.store.getStep(run.id, req.step as number) : null;
    if (!s) throw new RoomError('not-found', 'no such step');
    const room = await this.room(roomId);
    const image = await this.deps.frames.frame(room, run, s, caller);
    const diffusion = run.kind === 'drag' && this.deps.rooms.modelKind(room) === 'diffusion';
    return {
      runId: run.id, step: s.step, handles: s.handles, targets: run.points.map((p) => p.target), distances: s.distances,
      confidences: s.confidences, image, ...(diffusion ? { decoded: diffusionStepDecoded(run, s.step) } : {}),
    };
  }

  private async room(roomId: string): Promise<RoomRecord> {
    const room = await this.deps.store.get(roomId);
    if (!room) throw new RoomError('not-found', 'room not found');
    return room;
  }

  /**
   * A new room from a stored step: its latent, its image (rendered from that latent), its handles and targets,
   * the run's settings and the mask it ran with (as editable strokes). `caller` (the client's address) shares
   * the render queue fairly with other callers.
   */
  async fork(roomId: string, req: { runId: unknown; step: unknown }, caller?: string): Promise<RoomRecord> {
    const { store, jobs, docs, rooms, broadcast } = this.deps;
    const parent = await this.room(roomId);
    const run = await this.runOf(roomId, req.runId);
    const s = Number.isInteger(req.step) ? await store.getStep(run.id, req.step as number) : null;
    if (!s) throw new RoomError('not-found', 'no such step');
    const diffusion = rooms.modelKind(parent) === 'diffusion';
    const weights = !diffusion && stepUsesWeights(run, s.step) ? await rooms.weights(parent.id) : undefined;
    // A diffusion step's image is a VAE decode (its stored frame, or its clean latent decoded now where the run
    // kept only the latent preview); the new room drags from that image like a photo room.
    const rendered = diffusion
      ? { image: await this.deps.frames.diffusionImage(parent, run, s, caller) }
      : await jobs.render({ modelPath: rooms.modelPath(parent), latent: s.latent, format: 'png', weights }, { caller });
    const child = await store.create({
      title: cleanDisplayText(`${parent.title} · fork ${run.seq}.${s.step}`, MAX_TITLE_GRAPHEMES), model: parent.model, modelKind: rooms.modelKind(parent), seed: parent.seed,
      parentRoomId: parent.id, forkRunId: run.id, forkStep: s.step,
      latent: s.latent, image: rendered.image.bytes, imageType: rendered.image.mime, weights,
    });
    const doc = await docs.acquire(child.id);
    try {
      doc.transact(() => {
        run.points.forEach((p, i) => {
          addPoint(doc, s.handles[i] ?? p.handle, FORK_USER);
          addPoint(doc, p.target, FORK_USER);
        });
        // An inversion's settings are not drag settings (its lr is the fit's): a fork from it starts with the defaults.
        if (run.kind === 'drag' && diffusion) {
          updateDiffusionSettings(doc, run.settings as Partial<DiffusionSettings>);
          const prompt = (run.settings as Record<string, unknown> | null)?.[DIFFUSION_PROMPT_KEY];
          if (checkDiffusionPrompt(prompt) === null) setDiffusionPrompt(doc, prompt as string);
        }
        else if (run.kind === 'drag') updateSettings(doc, run.settings as Partial<RunSettings>);
        for (const { id: _id, ...stroke } of run.maskStrokes ?? []) addMaskStroke(doc, stroke);
      });
    } finally {
      docs.release(doc);
    }
    broadcast.history(roomId);
    return child;
  }

  /** The drag Undo would take back and the one Redo would re-apply (null: nothing to undo / redo). */
  private static available(runs: RunUndoEntry[]): UndoRedo {
    const { applied, undone } = replayUndoStack(runs);
    return { undo: applied.at(-1) ?? null, redo: undone.at(-1)?.drag ?? null };
  }

  /**
   * Undo returns the room to the state before the newest drag still in effect; redo re-applies the newest drag
   * undone since the last new drag (undo-stack.ts). Either is recorded as a timeline entry whose "before" is the
   * state it replaced. One at a time per room, so two quick clicks take back two drags, not the same one twice.
   */
  undo(roomId: string, by: PublicUser | null): Promise<{ runId: string; undid: string }> {
    return this.serialised(roomId, async () => {
      const r = await this.restore(roomId, by, 'undo');
      return { runId: r.runId, undid: r.target };
    });
  }

  redo(roomId: string, by: PublicUser | null): Promise<{ runId: string; redid: string }> {
    return this.serialised(roomId, async () => {
      const r = await this.restore(roomId, by, 'redo');
      return { runId: r.runId, redid: r.target };
    });
  }

  private readonly chains = new Map<string, Promise<unknown>>();

  private serialised<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(roomId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.chains.set(roomId, settled);
    void settled.then(() => this.chains.get(roomId) === settled && this.chains.delete(roomId));
    return next;
  }

  private async restore(roomId: string, by: PublicUser | null, kind: 'undo' | 'redo'): Promise<{ runId: string; target: string }> {
    const { store, docs, runs, broadcast, rooms } = this.deps;
    if (runs.busy(roomId)) throw new RoomError('invalid', `wait for the running drag to finish (or stop it) before ${kind}`);
    const all = await store.listUndoEntries(roomId);
    if (all.some((r) => r.status !== 'ended')) throw new RoomError('invalid', 'the last run has not ended');
    const { applied, undone } = replayUndoStack(all);
    // The drag concerned, and the entry whose "before" state is where the room goes: undo goes to the state
    // the drag started from; redo to the state the drag's undo replaced (the drag's result). Only these two
    // are read whole (their stored latent and image).
    const [targetId, sourceId] = kind === 'undo' ? [applied.at(-1), applied.at(-1)] : [undone.at(-1)?.drag, undone.at(-1)?.undoEntry];
    const [target, source] = await Promise.all([targetId, sourceId].map((id) => (id ? store.getRun(id) : null)));
    if (!target || !source) throw new RoomError('invalid', kind === 'undo' ? 'nothing to undo' : 'nothing to redo');
    const room = await this.room(roomId);
    const doc = await docs.acquire(roomId);
    try {
      const current = completePairs(doc);
      const id = newRunId();
      const known = new Set(current.map((p) => p.id));
      const moves = handleMoves(doc, source.points.filter((p) => known.has(p.id)).map((p) => ({ id: p.id, handle: p.handle as Point })));
      const result = {
        roomId, latent: source.latentBefore, image: source.imageBefore, imageType: source.imageBeforeType, docUpdate: moves?.update ?? null,
      };
      const entry = {
        id, roomId, startedBy: by, kind, method: kind, points: current,
        settings: kind === 'undo' ? { undid: target.id } : { redid: target.id },
        mask: null, maskStrokes: null, latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
      };
      // The entry, the room's latent and image and the handles' update: one transaction, so a failure leaves
      // no trace (no entry stuck 'running', no half-restored room). The handles move for the peers once it commits.
      try {
        const ended = { end: { reason: kind === 'undo' ? 'undone' : 'redone', steps: 0 }, result };
        await writeThenApply(docs, doc, moves, () =>
          withRetries(`${roomId}: recording a ${kind}`, () => store.createRun(entry, ended), this.deps.retry, this.deps.log),
        );
      } catch (err) {
        throw new RoomError('storage', `the ${kind} could not be saved, nothing changed: ${errorMessage(err)}`);
      }
      const img = rooms.image({ ...room, image: source.imageBefore, imageType: source.imageBeforeType });
      broadcast.image(roomId, img);
      broadcast.history(roomId);
      return { runId: id, target: target.id };
    } finally {
      docs.release(doc);
    }
  }
}

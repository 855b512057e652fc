/**
 * Run history (issue 5): every run of a room with its start snapshot, and every step with its latent and a
 * lossless frame. Behind an interface like RoomStore; PrismaHistoryStore implements it.
 */
import type { Point, PublicUser } from '../../contract/events.js';
import type { MaskStroke } from '../../contract/mask.js';

export interface NewRun {
  id: string;
  roomId: string;
  startedBy: PublicUser | null;
  /** 'invert': a photo's inversion (its target image is `imageBefore`, its settings `settings`). */
  kind: 'drag' | 'undo' | 'redo' | 'invert';
  method: string;
  points: { id: string; handle: Point; target: Point }[];
  settings: unknown;
  mask: Uint8Array | null;
  /** The strokes `mask` was rasterised from (null for undo entries and runs from before strokes were kept). */
  maskStrokes: MaskStroke[] | null;
  latentBefore: Float32Array;
  imageBefore: Uint8Array;
  imageBeforeType: string;
}

export interface RunRecord extends NewRun {
  seq: number;
  status: 'running' | 'ended';
  endReason: string | null;
  error: string | null;
  /** Latent updates applied (the engine's count). */
  steps: number;
  /** Step records stored (steps 0..n-1; usually steps + 1: the start and every update). */
  recorded: number;
  startedAt: Date;
  endedAt: Date | null;
}

/** A run as the timeline lists it: no stored mask, latent or image (those stay in the database). */
export type RunSummary = Omit<RunRecord, 'mask' | 'maskStrokes' | 'latentBefore' | 'imageBefore'>;

/** What undo/redo replay needs of every entry of a room's timeline (undo-stack.ts), and whether it ended. */
export interface RunUndoEntry {
  id: string;
  kind: RunRecord['kind'];
  steps: number;
  settings: unknown;
  status: RunRecord['status'];
}

export interface StepRecord {
  runId: string;
  step: number;
  handles: Point[];
  distances: number[];
  confidences: number[];
  latent: Float32Array;
  /** Store the latent as half floats (a diffusion step's: replay and export read its frame, a fork's decode
   *  differs from the run's by at most a level or two of 255; tests/server/step-latent-f16.test.ts). */
  latentHalf?: boolean;
  /** The step's frame, lossless (WebP, PNG for a run's last step); null where only the latent is kept
   *  (runs/stored-frames.ts says which steps keep one; the others are rendered again from the latent). */
  frame: Uint8Array | null;
  frameType: string | null;
  elapsedMs: number;
}

/** A step as exports need it: its stored frame, or (when it has none) the latent to render it from. */
export interface StoredStepFrame {
  step: number;
  frame: Uint8Array | null;
  frameType: string | null;
  /** Present at least where `frame` is null. */
  latent?: Float32Array;
}

/**
 * How a run the server never finished (killed mid-run) is recorded at the next start. Its recorded steps stay
 * (timeline, replay and fork work from them); the room's image and handles stay as before the run, since a
 * run only writes them back when it ends.
 */
export const INTERRUPTED_RUN = { reason: 'interrupted', error: 'the server stopped during this run' } as const;

/** What a finished run leaves in its room, written with the run's end (RunStore.finishRun). */
export interface RunResult {
  roomId: string;
  latent: Float32Array;
  image: Uint8Array;
  imageType: string;
  /** The Yjs update that moves the room's handles to where the run left them (appended to its update log); null: none moved. */
  docUpdate: Uint8Array | null;
  /** Generator weights the run tuned for the room (an inversion's pivotal tuning): they replace the room's. */
  weights?: Uint8Array;
}

export interface HistoryStore {
  /**
   * Records a run as started; assigns the next sequence number in its room. With `ended`, records it as
   * already ended and writes its result, all in one transaction (undo and redo entries, which have no steps).
   */
  createRun(run: NewRun, ended?: { end: { reason: string; steps: number }; result: RunResult }): Promise<RunRecord>;
  addStep(step: StepRecord): Promise<void>;
  /** Stores a frame for a recorded step that has none (a run's last step, once the run has ended). */
  setStepFrame(runId: string, step: number, frame: Uint8Array, frameType: string): Promise<void>;
  /**
   * Marks the run ended and, with `result`, writes what it leaves in its room (latent, image, the handles'
   * document update) in the same transaction: all of it or none of it.
   */
  finishRun(runId: string, end: { reason: string; steps: number; error?: string }, result?: RunResult): Promise<void>;
  /**
   * At start-up, before anything runs: every run still 'running' was cut off by a server that stopped
   * without finishing it (killed, crashed). Ends them with this reason and error; their step records stay,
   * and `steps` becomes the updates recorded (recorded - 1). Returns their ids.
   */
  endUnfinishedRuns(end: { reason: string; error: string }): Promise<string[]>;
  /** The ids of the runs still 'running' (a cluster's start-up check for runs no node holds). */
  unfinishedRunIds(): Promise<string[]>;
  /** The room's runs in order (without their steps). */
  listRuns(roomId: string): Promise<RunRecord[]>;
  /** Up to `limit` of the room's runs with seq below `before` (all when absent), newest first. */
  listRunPage(roomId: string, page: { before?: number; limit: number }): Promise<RunSummary[]>;
  /** How many runs the room has recorded. */
  countRuns(roomId: string): Promise<number>;
  /** Every run of the room in order, as undo/redo replay needs it. */
  listUndoEntries(roomId: string): Promise<RunUndoEntry[]>;
  getRun(runId: string): Promise<RunRecord | null>;
  getStep(runId: string, step: number): Promise<StepRecord | null>;
  /** Every step of a run in order. */
  listSteps(runId: string): Promise<StepRecord[]>;
  /** The given steps of a run, in step order: their stored frames, and the latents of those without one. */
  listStepFrames(runId: string, steps: number[]): Promise<StoredStepFrame[]>;
}

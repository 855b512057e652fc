/**
 * The Socket.IO contract between app/ and server/: every event, its payload and its acknowledgement.
 * Imported by both sides (types only, no runtime dependencies), so a change here breaks the build of
 * whichever side falls behind instead of failing at run time.
 */

export type Role = 'edit' | 'view';
export type Point = [x: number, y: number];

export interface PublicUser {
  /** Stable per browser (kept in localStorage), not a credential. */
  id: string;
  name: string;
  color: string;
}

/** An image's size in pixels: rooms, canvases, masks, points and frames are all width x height. */
export interface ImageSize {
  width: number;
  height: number;
}

/** 'gan': a StyleGAN model (model.safetensors); 'diffusion': a diffusers-layout folder (rooms from photos only). */
export type ModelKind = 'gan' | 'diffusion';

export interface ModelInfo {
  id: string;
  label: string;
  kind: ModelKind;
  width: number;
  height: number;
  domain?: string;
  architecture: string;
  /** Bytes on disk (a diffusion model: every file of its folder the engine reads). */
  fileBytes: number;
  /** Mean drag step time measured on this server (ms), absent until measured. */
  stepMs?: number;
}

export interface UnavailableModel {
  id: string;
  reason: string;
}

export interface RoomSummary {
  roomId: string;
  title: string;
  model: string;
  /** Which settings and methods the room offers (its model's kind, kept with the room: it holds when the model is gone). */
  modelKind: ModelKind;
  /** Whether this server offers the room's model now (false: it is missing or broken; replay works, drags do not). */
  modelAvailable: boolean;
  seed: number;
  /** The room's image size, from its stored image (so it holds even when the model is no longer offered). */
  width: number;
  height: number;
  createdAt: string;
  updatedAt: string;
}

/** An encoded image (WebP/JPEG/PNG bytes). Socket.IO carries the bytes as a binary attachment. */
export interface EncodedImage {
  bytes: Uint8Array | ArrayBuffer;
  mime: string;
  width: number;
  height: number;
}

/**
 * 'time-limit': stopped at the server's run duration limit (its steps so far are kept, like a Stop).
 * 'stalled': the handles stopped getting closer to their targets (ServerLimits.stallSteps); steps kept too.
 * 'interrupted': the worker process running it was lost (a cluster's `npm run worker`); the steps it sent are kept.
 * 'done': an inversion ran every step it planned.
 * 'storage-limit': the room reached its stored-bytes limit (RoomStorage); the steps recorded so far are kept, like a Stop.
 */
export type RunEndReason = 'reached' | 'max-steps' | 'stalled' | 'cancelled' | 'time-limit' | 'interrupted' | 'error' | 'done' | 'storage-limit';

/**
 * What a room holds in the server's store (its timeline's step records and images, tuned weights, document)
 * against the server's per-room limit. At the limit new runs are refused; history is never deleted, so a full
 * room goes on in a fork (which starts with only the forked step's state).
 */
export interface RoomStorage {
  usedBytes: number;
  limitBytes: number;
}

export interface RunInfo {
  runId: string;
  by: PublicUser | null;
  state: 'queued' | 'running';
  /** 1-based position among runs waiting (this room's queue, then the shared worker pool); 0 when running. */
  position: number;
  maxSteps: number;
  step: number;
}

export interface RunQueueState {
  roomId: string;
  /** Grows with every state the server computes: a state can overtake an older one (a broadcast sent while
   *  a join's answer was on its way), so clients keep the one with the highest version. */
  version: number;
  current: RunInfo | null;
  queued: RunInfo[];
}

/** One step of a run, broadcast to everyone in the room. */
export interface RunFrame {
  roomId: string;
  runId: string;
  step: number;
  maxSteps: number;
  handles: Point[];
  targets: Point[];
  distances: number[];
  confidences: number[];
  image: EncodedImage;
  /** The frame of the run's final state (a slow client may miss others, never this one). */
  final: boolean;
  /** Server clock (ms since epoch) when the worker's step reached the server: clients can show lag, benchmarks measure delivery. */
  producedAt: number;
  /** Present on an inversion's frames (which have no handles): its stage and the step's loss. */
  inversion?: { stage: 'w' | 'w+' | 'pti'; loss: number };
  /**
   * Present on a diffusion drag's frames: the stage ('lora' fine-tuning, 'invert' (DDIM inversion), 'drag' steps,
   * 'denoise' (the final denoising)) with its progress, the LoRA loss, and on 'drag' frames whether the image is
   * a VAE decode (else the cheap latent preview, scaled up).
   */
  diffusion?: DiffusionFrameStage;
}

export interface DiffusionFrameStage {
  stage: 'lora' | 'invert' | 'drag' | 'denoise';
  stageStep: number;
  stageSteps: number;
  loss?: number;
  decoded?: boolean;
}

export interface RunEnded {
  roomId: string;
  runId: string;
  reason: RunEndReason;
  steps: number;
  error?: { code: string; message: string };
}

export interface RoomState {
  room: RoomSummary;
  role: Role;
  /** Tokens this joiner may share: editors get both links, watchers only the watch link. */
  links: { edit?: string; view: string };
  /** The room's current image (the last finished run's result). */
  image: EncodedImage;
  runs: RunQueueState;
  /** The latest frame of the run in progress, so a late joiner sees it at once. */
  liveFrame: RunFrame | null;
}

/** One recorded run in a room's timeline (issue 5). Undo and redo entries have no steps. */
export interface HistoryRun {
  runId: string;
  seq: number;
  /** 'invert': fitting the room's latent to its photo (the first entry of a room made from a photo). */
  kind: 'drag' | 'undo' | 'redo' | 'invert';
  by: PublicUser | null;
  method: string;
  status: 'running' | 'ended';
  endReason: string | null;
  /** Latent updates applied. */
  steps: number;
  /** Stored steps, numbered 0..recorded-1 (the scrubber's range). */
  recorded: number;
  /** The snapshot's targets, in pair order (a step's handles pair with these). */
  targets: Point[];
  startedAt: string;
  endedAt: string | null;
}

/** A page of the timeline: the newest entries first asked for, then older ones below a cursor. */
export const HISTORY_PAGE = {
  /** Entries in a page when the request names no limit. */
  defaultRuns: 50,
  /** Most entries one page may ask for. */
  maxRuns: 200,
} as const;

export interface HistoryPageRequest {
  /** Entries with a seq below this one (the previous page's `older`); absent: the newest. */
  before?: number;
  /** Entries in the page, 1 to HISTORY_PAGE.maxRuns (default HISTORY_PAGE.defaultRuns). */
  limit?: number;
}

export interface HistoryPage {
  /** Oldest first, like the whole timeline. */
  runs: HistoryRun[];
  /** The cursor for the page before this one (`before`), null when this page reaches the first entry. */
  older: number | null;
  /** Entries in the whole timeline. */
  total: number;
  lineage: RoomLineage;
  undoRedo: UndoRedo;
  storage: RoomStorage;
}

/** The drag that Undo would take back and the one Redo would re-apply; null when there is none. */
export interface UndoRedo {
  undo: string | null;
  redo: string | null;
}

/**
 * A room in another room's fork tree. No link: a member learns where the room came from and what was forked
 * from it, but opens only rooms whose links it was given (its own forks come with links in the fork answer),
 * so being put out of a room by link rotation cannot be undone by walking the tree.
 */
export interface LineageRoom {
  roomId: string;
  title: string;
  /** The run and stored step the fork was made from. */
  runId: string | null;
  step: number | null;
}

export interface RoomLineage {
  parent: LineageRoom | null;
  forks: LineageRoom[];
}

/** A stored step, as sent to the one person looking at it. */
export interface HistoryStep {
  runId: string;
  step: number;
  handles: Point[];
  targets: Point[];
  distances: number[];
  confidences: number[];
  /** Lossless WebP of the stored frame. */
  image: EncodedImage;
  /** A diffusion drag's step only: whether the frame is a VAE decode (false: the blocky latent preview). */
  decoded?: boolean;
}

/**
 * `code` says what went wrong: 'invalid', 'unauthorized', 'forbidden', 'not-found', 'limit' (a per-connection
 * or per-address limit: too many requests, rooms, previews, runs), 'busy' (the server's shared queue is
 * full), 'model-unavailable' (the model is missing or broken on this server), 'unknown-event', 'internal'.
 * 'limit' and 'busy' may carry `retryAfterSeconds`: the request is worth repeating after that long.
 */
export interface ErrorInfo {
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

export type Result<T> = ({ ok: true } & T) | { ok: false; error: ErrorInfo };
export type Ack<T> = (result: Result<T>) => void;

export interface ClientToServerEvents {
  /** `lpips`: whether the server holds LPIPS-VGG16's weights, so a photo's inversion may use the 'lpips' loss. */
  'models:list': (ack: Ack<{ models: ModelInfo[]; unavailable: UnavailableModel[]; lpips: boolean }>) => void;
  /** Scans the models directory again (new models are offered, removed or broken ones listed unavailable). */
  'models:rescan': (ack: Ack<{ models: ModelInfo[]; unavailable: UnavailableModel[]; lpips: boolean }>) => void;
  'seed:preview': (req: { model: string; seed: number }, ack: Ack<{ image: EncodedImage }>) => void;
  'room:create': (req: { title: string; model: string; seed: number }, ack: Ack<{ roomId: string; editToken: string; viewToken: string }>) => void;
  /** Joins the room a token opens (leaving any other); the socket then receives the room's broadcasts. */
  'room:join': (req: { token: string; user: PublicUser }, ack: Ack<{ state: RoomState }>) => void;
  /** Stops receiving the joined room's broadcasts (leaving the room page). */
  'room:leave': () => void;
  /** Titles and roles of rooms this browser knows tokens for (the home page's recent list). */
  'rooms:describe': (req: { tokens: string[] }, ack: Ack<{ rooms: { token: string; role: Role; room: RoomSummary }[] }>) => void;
  /** Queues a run in the joined room with a snapshot of its points, mask and settings taken when it starts. */
  'run:start': (ack: Ack<{ runId: string; position: number }>) => void;
  /** Cancels the running run (within one step) and every queued one in the joined room. */
  'run:stop': (ack: Ack<{ cancelled: number }>) => void;
  /** A page of the joined room's timeline (the newest entries, or those below `before`), its fork links and
   *  what undo/redo would act on. Listing reads no stored image, latent or mask. */
  'history:list': (req: HistoryPageRequest, ack: Ack<HistoryPage>) => void;
  /** One stored step, to the caller only (looking at the past disturbs nobody). */
  'history:step': (req: { runId: string; step: number }, ack: Ack<{ step: HistoryStep }>) => void;
  /** A new room whose image and latent are the step's and whose points are its tracked handles and targets. */
  'history:fork': (req: { runId: string; step: number }, ack: Ack<{ roomId: string; editToken: string; viewToken: string }>) => void;
  /** Returns the room to the state before the newest drag still in effect (its image, latent and handles);
   *  repeated, it goes further back. Recorded in the timeline. Editors only. */
  'history:undo': (ack: Ack<{ runId: string; undid: string }>) => void;
  /** Re-applies the newest undone drag (until a new drag is run). Recorded in the timeline. Editors only. */
  'history:redo': (ack: Ack<{ runId: string; redid: string }>) => void;
  /** Replaces the room's edit link, watch link or both (editors only). Holders of a replaced link are put out
   *  of the room (`room:revoked`, Yjs close 4403); the caller stays, now holding the new edit link. */
  'room:rotate-links': (req: { which: 'edit' | 'view' | 'both' }, ack: Ack<{ editToken: string; viewToken: string }>) => void;
}

export interface ServerToClientEvents {
  'run:queue': (state: RunQueueState) => void;
  /** Acknowledge to receive the next frame: the server sends a client at most one frame at a time and skips
   *  intermediate ones while a frame is unacknowledged, so slow clients fall behind by skipping, not queueing. */
  'run:frame': (frame: RunFrame, ack: () => void) => void;
  'run:ended': (ended: RunEnded) => void;
  /** The room's image changed (a run ended). */
  'room:image': (update: { roomId: string; image: EncodedImage }) => void;
  /** The room's timeline changed (a run was recorded or ended, an undo, a fork): fetch history:list again. */
  'history:changed': (update: { roomId: string }) => void;
  /** The link this socket joined with was replaced by an editor: the socket is no longer in the room. */
  'room:revoked': (info: { roomId: string; reason: string }) => void;
  /** A request that carried no acknowledgement failed (with an ack, the error comes in the ack instead). */
  'request:error': (info: { event: string; error: ErrorInfo }) => void;
}

/** Between web nodes of a cluster (Socket.IO's serverSideEmit through the Redis adapter); never from clients. */
export interface InterServerEvents {
  /** A room's links were rotated on one node: every node puts out the holders of `tokens` (replaced, no longer valid). */
  'links:revoked': (revocation: { roomId: string; tokens: string[] }) => void;
}

export interface SocketData {
  roomId?: string;
  role?: Role;
  /** The token the room was joined with (rotation puts out the holders of a replaced one). */
  token?: string;
  user?: PublicUser;
}

/** Path of the Yjs websocket endpoint; the document name follows: /yjs/<roomId> (the token goes as a subprotocol: yjs-auth.ts) */
export const YJS_PATH = '/yjs';
export const SOCKET_IO_PATH = '/socket.io';

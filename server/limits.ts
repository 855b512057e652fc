/**
 * The server's operational limits in one place, with the defaults `npm start` uses. Each can be set from the
 * environment (see readLimits) or per server in tests. Document-shape bounds (points, mask) are in
 * contract/doc-limits.ts because the app enforces them too; run settings' bounds in contract/run-settings.ts.
 */
import { RUN_SETTINGS_SCHEMA } from '../contract/run-settings.js';

export interface ServerLimits {
  /** Largest Socket.IO message, bytes (requests are small JSON; frames go the other way). */
  socketMessageBytes: number;
  /** Largest Yjs websocket message, bytes. */
  yjsMessageBytes: number;
  /**
   * Yjs messages one connection may send per second on average, and in one burst (a token bucket). The app
   * sends at most one document update per animation frame while dragging plus presence at 20 Hz.
   */
  yjsMessagesPerSecond: number;
  yjsMessageBurst: number;
  /**
   * Bytes the server may hold for one Yjs connection that are not yet written to its socket. Above it the
   * peer is not reading fast enough and is closed (4408); at least two full documents, so a sync answer fits.
   */
  yjsBufferedBytes: number;
  /** One connection's sync requests (sync step 1) are answered at most once per this many ms; later ones wait and coalesce. */
  yjsSyncIntervalMs: number;
  /**
   * Largest encoded room document, bytes. A document at DOC_LIMITS (protocol/doc-limits.ts) encodes to about
   * 0.9 MB; the rest is room for deleted content between compactions.
   */
  yjsDocumentBytes: number;
  /**
   * A document is compacted when stored if deleted entries (tombstones) are more than this share of its
   * structs and at least yjsCompactMinTombstones of them: each nested entry holding tombstones is replaced by a copy.
   */
  yjsCompactTombstoneRatio: number;
  yjsCompactMinTombstones: number;
  /** New connections (Socket.IO and Yjs counted together) one address may open per minute; over it, refused for banSeconds. */
  connectionsPerMinute: number;
  banSeconds: number;
  /** Requests one Socket.IO connection may have unanswered at once (renders behind seed previews, forks...). */
  requestsInFlight: number;
  /** Runs waiting (not running) in one room. */
  queuedRunsPerRoom: number;
  /**
   * Runs one connection (Socket.IO socket) may have waiting or running, across all rooms. Counted per
   * connection, not per the user id a client sends, which it may change at will.
   */
  runsPerUser: number;
  /** Runs one client address may have waiting or running, across all rooms and connections. */
  runsPerAddress: number;
  /** Runs waiting for a worker across all rooms; over it, `run:start` is answered `busy`. */
  runsWaiting: number;
  /** Renders (seed previews, new rooms, forks) waiting for a worker, all callers together; over it, `busy`. */
  rendersWaiting: number;
  /** Renders one caller (a client address) may have waiting; over it, `busy`. */
  rendersWaitingPerCaller: number;
  /** Bytes of encoded seed previews kept for repeat requests (least recently used dropped first). */
  previewCacheBytes: number;
  /** Rooms one address may create (room:create and history:fork): a burst, then this many per minute (token bucket). */
  roomCreatesPerMinute: number;
  roomCreateBurst: number;
  /**
   * Suggested face crops one address may ask for (each holds a worker for seconds: the landmark search over a
   * photo): a burst, then this many per minute (token bucket).
   */
  faceCropsPerMinute: number;
  faceCropBurst: number;
  /** Seed previews one address may ask for: a burst, then this many per minute (token bucket). */
  seedPreviewsPerMinute: number;
  seedPreviewBurst: number;
  /** Socket.IO requests one connection may send: a burst, then this many per second (token bucket). */
  socketMessagesPerSecond: number;
  socketMessageBurst: number;
  /** A run is stopped after this long (its steps so far are kept), ended with reason 'time-limit'. */
  runSeconds: number;
  /** Upper bound on a run's steps, whatever the room's settings say: at most the settings schema's bound (it may only lower it). */
  maxSteps: number;
  /**
   * A run whose handles get no closer to their targets (by the engine's stallDistance, 1 px at 128 px) in
   * this many steps ends with reason 'stalled', so a drag the model cannot follow frees the worker.
   */
  stallSteps: number;
  /** A drag worker that sends nothing for this long (a step, a render) is deemed hung and replaced. */
  workerSilenceSeconds: number;
  /**
   * A failed database write (a step record, a run's end, a document store) is tried again this many times,
   * waiting storageRetryMs, then twice as long each time, before the run ends with a storage error. A
   * document is never given up on: it stays loaded and its store is retried at the longest of these waits.
   */
  storageRetries: number;
  storageRetryMs: number;
  /** Frames in a run's animation export; a longer run is sampled evenly (first and last step kept). */
  animationFrames: number;
  /** Decoded pixels (RGBA bytes) an animation export may hold at once; fewer frames are sampled beyond it. */
  animationBytes: number;
  /** Heavy exports (animations, the current DragBench mask) being made at once, server-wide; more get 503. */
  exportsInFlight: number;
  /** Photos being received and decoded at once, server-wide (each holds up to 20 MB and a decode); more get 503. */
  photoUploadsInFlight: number;
  /** A photo's body must arrive within this many seconds (a client trickling bytes would hold a slot forever). */
  photoUploadSeconds: number;
  /**
   * Bytes one room may hold in the store (RoomStore.storageBytes: step records, stored images, tuned weights,
   * its document). A run is refused when the room is at it, and a run that reaches it ends with reason
   * 'storage-limit' keeping what it recorded. The timeline is never deleted: a full room forks into a new one.
   */
  roomStorageBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  socketMessageBytes: 100_000,
  yjsMessageBytes: 1_000_000,
  yjsMessagesPerSecond: 200,
  yjsMessageBurst: 400,
  yjsBufferedBytes: 4_000_000,
  yjsSyncIntervalMs: 1000,
  yjsDocumentBytes: 2_000_000,
  yjsCompactTombstoneRatio: 0.5,
  yjsCompactMinTombstones: 1000,
  connectionsPerMinute: 120,
  banSeconds: 60,
  requestsInFlight: 8,
  queuedRunsPerRoom: 8,
  runsPerUser: 4,
  runsPerAddress: 16,
  runsWaiting: 64,
  rendersWaiting: 32,
  rendersWaitingPerCaller: 8,
  previewCacheBytes: 8_000_000,
  roomCreatesPerMinute: 6,
  roomCreateBurst: 10,
  faceCropsPerMinute: 6,
  faceCropBurst: 10,
  seedPreviewsPerMinute: 120,
  seedPreviewBurst: 40,
  socketMessagesPerSecond: 20,
  socketMessageBurst: 40,
  runSeconds: 600,
  maxSteps: RUN_SETTINGS_SCHEMA.maxSteps.max,
  stallSteps: 80,
  workerSilenceSeconds: 120,
  storageRetries: 5,
  storageRetryMs: 100,
  animationFrames: 240,
  animationBytes: 64_000_000,
  exportsInFlight: 2,
  photoUploadsInFlight: 2,
  photoUploadSeconds: 60,
  // 256 MiB: at 128 px a step keeps its latent (12 KiB for faces128) and a lossless frame of tens of KB (runs/stored-frames.ts),
  // so a room holds some thousands of steps (dozens of full drags and a default 400-step inversion), while one
  // room cannot fill the server's disk.
  roomStorageBytes: 256 * 1024 * 1024,
};

/** Environment name of each limit: STABLEDRAG_LIMIT_<SNAKE_CASE>. */
export function limitEnvName(key: keyof ServerLimits): string {
  return 'STABLEDRAG_LIMIT_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** Defaults overridden by positive numbers from the environment; anything else there is an error at start. */
export function readLimits(env: Record<string, string | undefined> = process.env): ServerLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const raw = env[limitEnvName(key)];
    if (raw === undefined || raw === '') continue;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${limitEnvName(key)} must be a positive number, got '${raw}'`);
    if (key === 'maxSteps' && v > RUN_SETTINGS_SCHEMA.maxSteps.max) {
      throw new Error(`${limitEnvName(key)} may lower the settings' bound on steps (${RUN_SETTINGS_SCHEMA.maxSteps.max}), not raise it; got '${raw}'`);
    }
    out[key] = v;
  }
  return out;
}

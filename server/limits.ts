/**
 * The server's operational limits in one place, with the defaults `npm start` uses. Each can be set from the
 * environment (see readLimits) or per server in tests. Document-shape bounds (points, mask) are in
 * protocol/doc-limits.ts because the app enforces them too.
 */
export interface ServerLimits {
  /** Largest Socket.IO message, bytes (requests are small JSON; frames go the other way). */
  socketMessageBytes: number;
  /** Largest Yjs websocket message, bytes. */
  yjsMessageBytes: number;
  /** New connections (Socket.IO and Yjs counted together) one address may open per minute; over it, refused for banSeconds. */
  connectionsPerMinute: number;
  banSeconds: number;
  /** Requests one Socket.IO connection may have unanswered at once (renders behind seed previews, forks...). */
  requestsInFlight: number;
  /** Runs waiting (not running) in one room. */
  queuedRunsPerRoom: number;
  /** Runs one user may have waiting or running, across all rooms. */
  runsPerUser: number;
  /** A run is stopped after this long (its steps so far are kept), ended with reason 'time-limit'. */
  runSeconds: number;
  /** Upper bound on a run's steps, whatever the room's settings say. */
  maxSteps: number;
  /**
   * A run whose handles get no closer to their targets (by the engine's stallDistance, 1 px at 128 px) in
   * this many steps ends with reason 'stalled', so a drag the model cannot follow frees the worker.
   */
  stallSteps: number;
  /** A drag worker that sends nothing for this long (a step, a render) is deemed hung and replaced. */
  workerSilenceSeconds: number;
  /** Frames in a run's animation export; a longer run is sampled evenly (first and last step kept). */
  animationFrames: number;
  /** Decoded pixels (RGBA bytes) an animation export may hold at once; fewer frames are sampled beyond it. */
  animationBytes: number;
  /** Heavy exports (animations, the current DragBench mask) being made at once, server-wide; more get 503. */
  exportsInFlight: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  socketMessageBytes: 100_000,
  yjsMessageBytes: 1_000_000,
  connectionsPerMinute: 120,
  banSeconds: 60,
  requestsInFlight: 8,
  queuedRunsPerRoom: 8,
  runsPerUser: 4,
  runSeconds: 600,
  maxSteps: 1000,
  stallSteps: 80,
  workerSilenceSeconds: 120,
  animationFrames: 240,
  animationBytes: 64_000_000,
  exportsInFlight: 2,
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
    out[key] = v;
  }
  return out;
}

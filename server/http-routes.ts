/**
 * The few plain HTTP routes the server answers itself (everything else goes to Next). Every room route is
 * checked by token (edit or view link):
 *   GET /api/rooms/<token>/image                          the room's current image (PNG)
 *   GET /api/rooms/<token>/latent                         the current latent (Float32 little-endian)
 *   GET /api/rooms/<token>/dragbench/{original.png,mask.png,points.json}   current image, mask and points
 *   GET /api/rooms/<token>/runs/<runId>/animation.{webp,gif}?delay=ms     the run's stored frames (sampled
 *                                                                          evenly beyond limits.animationFrames)
 *   GET /api/rooms/<token>/runs/<runId>/dragbench/{original.png,mask.png,points.json}  the run's snapshot
 *   GET /api/rooms/<token>/runs/<runId>/steps/<n>/{frame.png,latent}      one stored step
 *   POST /api/rooms/from-photo                            a room from a photo (rooms/photo-room-route.ts, answered before these)
 *   GET /api/health/live                                  liveness: the process answers
 *   GET /api/health, /api/health/ready                    readiness: database and workers (503 naming what failed)
 * A request target that cannot be parsed is a 400 (the caller checks it before anything else sees it). Exports
 * are at the room's size. A frame that must be rendered again from its latent (runs/stored-frames.ts) while the
 * room's model is not offered is a 409 naming the model.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomRecord, RoomStore } from './rooms/room-store.js';
import type { DocServer } from './yjs/doc-server.js';
import type { ImageSize, Point } from '../contract/events.js';
import type { StepFrames } from './runs/step-frames.js';
import { RoomError } from './rooms/room-service.js';
import { BusyError } from './jobs/job-queue.js';
import { completePairs, readMask } from '../contract/room-doc.js';
import { roomMasks } from './runs/mask-rasterizer.js';
import { animation, dragBenchPoints, maskPng, sampleSteps, toPng } from './runs/history-export.js';
import { ExportSlots } from './export-slots.js';
import { nextTurn } from './next-turn.js';
import type { ServerLimits } from './limits.js';
import type { Readiness } from './health.js';

/** What a client is told to wait when every export slot is taken (an animation takes about a second). */
const EXPORT_RETRY_SECONDS = 2;

export interface ApiDeps {
  store: RoomStore;
  /** The room's documents (current points and mask); without it the current dragbench export is off. */
  docs?: DocServer;
  /** The room's image size (exports are at this size). */
  size: (room: RoomRecord) => ImageSize;
  /** Stored steps' frames, rendered again from their latents where only those were kept. */
  frames: StepFrames;
  limits: Pick<ServerLimits, 'animationFrames' | 'animationBytes' | 'exportsInFlight'>;
  /** Readiness for /api/health and /api/health/ready; without it they answer like /api/health/live. */
  readiness?: () => Promise<Readiness>;
}

/**
 * Step numbers are stored as 32-bit integers: a larger one names no step (a 404), where handing it to the
 * database would fail the query (a 500).
 */
const MAX_STEP = 2 ** 31 - 1;
const ANIMATION_DELAY_MS = { min: 20, max: 2000, default: 100 };

/** A decimal route parameter within [0, max], or null (a bound is checked on the digits, before Number rounds them). */
function boundedInt(digits: string, max: number): number | null {
  if (!/^\d{1,15}$/.test(digits)) return null;
  const n = Number(digits);
  return n <= max ? n : null;
}

/** `?delay=` in ms, clamped to what animated WebP/GIF players honour; absent or not a number: the default. */
function animationDelay(raw: string | null): number {
  const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) ? Math.round(Math.min(ANIMATION_DELAY_MS.max, Math.max(ANIMATION_DELAY_MS.min, n))) : ANIMATION_DELAY_MS.default;
}

interface Body {
  type: string;
  bytes: Uint8Array;
  filename?: string;
}

/** Every export slot was taken: 503 with Retry-After. */
const BUSY = Symbol('busy');

const latentBytes = (l: Float32Array) => new Uint8Array(l.buffer, l.byteOffset, l.byteLength);
const json = (v: unknown, filename: string): Body => ({ type: 'application/json', bytes: Buffer.from(JSON.stringify(v)), filename });

async function dragBench(file: string, image: Uint8Array, mask: Uint8Array | null | undefined, pairs: { handle: Point; target: Point }[], res: ImageSize, prefix: string): Promise<Body | null> {
  if (file === 'original.png') return { type: 'image/png', bytes: await toPng(image), filename: `${prefix}-original.png` };
  if (file === 'mask.png') return { type: 'image/png', bytes: maskPng(mask, res), filename: `${prefix}-mask.png` };
  if (file === 'points.json') return json(dragBenchPoints(pairs), `${prefix}-points.json`);
  return null;
}

async function route(deps: ApiDeps, exports: ExportSlots, room: RoomRecord, rest: string, url: URL): Promise<Body | typeof BUSY | null> {
  const { store, docs, limits } = deps;
  const res = deps.size(room);
  if (rest === 'image') return { type: room.imageType, bytes: room.image };
  if (rest === 'latent') return { type: 'application/octet-stream', bytes: latentBytes(room.latent), filename: `${room.id}.latent.f32` };
  let m = /^dragbench\/([a-z.]+)$/.exec(rest);
  if (m && docs) {
    const doc = await docs.acquire(room.id);
    try {
      if (m[1] !== 'mask.png') return await dragBench(m[1], room.image, undefined, completePairs(doc), res, room.id);
      const strokes = readMask(doc);
      const done = await exports.run(() => roomMasks.rasterize(strokes, res));
      return done ? dragBench(m[1], room.image, done.value, [], res, room.id) : BUSY;
    } finally {
      docs.release(doc);
    }
  }
  m = /^runs\/([A-Za-z0-9_-]+)\/(.+)$/.exec(rest);
  if (!m) return null;
  const run = await store.getRun(m[1]);
  if (!run || run.roomId !== room.id) return null;
  const sub = m[2];
  let n = /^animation\.(webp|gif)$/.exec(sub);
  if (n) {
    if (run.recorded === 0) return null;
    const format = n[1] as 'webp' | 'gif';
    const delay = animationDelay(url.searchParams.get('delay'));
    // Frames and decoded bytes are both capped: a 1000-step run is sampled, not decoded whole.
    const maxFrames = Math.min(limits.animationFrames, Math.floor(limits.animationBytes / (res.width * res.height * 4)));
    const done = await exports.run(async () => {
      await nextTurn();
      const steps = await store.listStepFrames(run.id, sampleSteps(run.recorded, maxFrames));
      await nextTurn();
      // Steps that kept only their latent are rendered again (by the workers) before the frames are joined.
      const frames = await deps.frames.frames(room, run, steps);
      return frames.length ? animation(frames, format, delay) : null;
    });
    if (!done) return BUSY;
    return done.value && { type: `image/${format}`, bytes: done.value, filename: `${run.id}.${format}` };
  }
  n = /^dragbench\/([a-z.]+)$/.exec(sub);
  if (n) return dragBench(n[1], run.imageBefore, run.mask, run.points, res, run.id);
  n = /^steps\/(\d+)\/(frame\.png|latent)$/.exec(sub);
  if (n) {
    const stepNumber = boundedInt(n[1], MAX_STEP);
    const step = stepNumber === null ? null : await store.getStep(run.id, stepNumber);
    if (!step) return null;
    if (n[2] === 'latent') return { type: 'application/octet-stream', bytes: latentBytes(step.latent), filename: `${run.id}-${step.step}.latent.f32` };
    const frame = await deps.frames.frame(room, run, step);
    return { type: 'image/png', bytes: await toPng(frame.bytes), filename: `${run.id}-${step.step}.png` };
  }
  return null;
}

export function createApiHandler(deps: ApiDeps) {
  const exports = new ExportSlots(deps.limits.exportsInFlight);
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname === '/api/health/live' || ((url.pathname === '/api/health' || url.pathname === '/api/health/ready') && !deps.readiness)) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"ok":true}');
      return true;
    }
    if (url.pathname === '/api/health' || url.pathname === '/api/health/ready') {
      const ready = await deps.readiness!();
      res.writeHead(ready.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(ready));
      return true;
    }
    const m = /^\/api\/rooms\/([A-Za-z0-9_-]+)\/(.+)$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return false;
    const found = await deps.store.findByToken(m[1]);
    let body: Awaited<ReturnType<typeof route>>;
    try {
      body = found ? await route(deps, exports, found.room, m[2], url) : null;
    } catch (err) {
      // An export that must render with the room's model while that model is missing or broken: the request is
      // fine, this server cannot serve it now (the message names the model and why). A full render queue: try
      // again later.
      if (err instanceof RoomError && err.code === 'model-unavailable') {
        res.writeHead(409, { 'content-type': 'text/plain; charset=utf-8' }).end(err.message);
        return true;
      }
      if (err instanceof BusyError) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': String(err.retryAfterSeconds) }).end(err.message);
        return true;
      }
      throw err;
    }
    if (body === BUSY) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': String(EXPORT_RETRY_SECONDS) });
      res.end(`busy: ${deps.limits.exportsInFlight} exports are being made; try again in ${EXPORT_RETRY_SECONDS} s`);
      return true;
    }
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return true;
    }
    res.writeHead(200, {
      'content-type': body.type,
      'cache-control': 'no-cache',
      'content-length': body.bytes.byteLength,
      ...(body.filename ? { 'content-disposition': `attachment; filename="${body.filename}"` } : {}),
    });
    res.end(Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength));
    return true;
  };
}

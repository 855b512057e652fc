/**
 * The worst cases for the event loop at the documented limits, shared by the stall test
 * (tests/server/event-loop-stalls.test.ts) and `npm run bench:stalls`: a mask at the document limits, a
 * long timeline written straight into the store (a run of many steps with real lossless WebP frames, and
 * many short entries), and a probe of the event loop's delay while requests are served.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { DOC_LIMITS } from '../../contract/doc-limits.js';
import type { MaskStroke } from '../../contract/mask.js';
import { addMaskStroke, maskOf } from '../../contract/room-doc.js';
import type * as Y from 'yjs';
import type { PublicUser } from '../../contract/events.js';
import type { RoomStore } from '../rooms/room-store.js';
import { newRunId } from '../rooms/tokens.js';

const ANN: PublicUser = { id: 'user-ann', name: 'ann', color: '#3366ff' };

/**
 * Strokes filling the mask limits (100 000 coordinates in strokes of 4 000) that are slow to rasterise dab
 * by dab: brushes from 8 to 128 px going round the image's corners again and again, so every dab lands on it.
 */
export function worstCaseStrokes(resolution: number): Omit<MaskStroke, 'id'>[] {
  const radii = [16, 32, 64, 128, 8];
  const count = DOC_LIMITS.maxMaskCoords / DOC_LIMITS.maxStrokeCoords;
  return Array.from({ length: count }, (_, i) => {
    const points: number[] = [];
    for (let d = 0; d < DOC_LIMITS.maxStrokeCoords / 2; d++) {
      const c = d % 4;
      points.push(c === 0 || c === 3 ? 0 : resolution, c < 2 ? 0 : resolution);
    }
    return { mode: i % 5 === 4 ? 'fixed' : 'flexible', radius: radii[i % radii.length], points };
  });
}

/**
 * A mask the server has not rasterised yet, still at the limits: the last stroke is replaced by a copy whose
 * first dab moves by `nudge` px (a new stroke object, so the cache does not know it). Returns its id.
 */
export function replaceLastStroke(doc: Y.Doc, resolution: number, nudge: number): string {
  const mask = maskOf(doc);
  const last = mask.get(mask.length - 1);
  let id = '';
  doc.transact(() => {
    mask.delete(mask.length - 1, 1);
    id = addMaskStroke(doc, { mode: last.mode, radius: last.radius, points: last.points.map((v, i) => (i === 0 ? v + nudge : v)) }, { size: resolution });
  });
  return id;
}

/** `count` distinct size x size lossless WebP frames (a square moving down), as the worker stores them. */
export async function storedFrames(count: number, size: number): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const rgb = Buffer.alloc(size * size * 3, 40);
      const side = Math.max(1, size >> 2);
      for (let y = 0; y < side; y++) rgb.fill(120 + i, (((y + i) % size) * size) * 3, (((y + i) % size) * size + side) * 3);
      return new Uint8Array(await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).webp({ lossless: true }).toBuffer());
    }),
  );
}

/** A finished drag run with `steps` stored steps (frame i is frames[i % frames.length]); returns its id. */
export async function writeLongRun(store: RoomStore, roomId: string, steps: number, frames: Uint8Array[]): Promise<string> {
  const room = (await store.get(roomId))!;
  const id = newRunId();
  await store.createRun({
    id, roomId, startedBy: ANN, kind: 'drag', method: 'draggan', points: [{ id: 'p', handle: [1, 1], target: [2, 2] }],
    settings: { lr: 0.01 }, mask: null, maskStrokes: [], latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
  });
  await Promise.all(
    Array.from({ length: steps }, (_, step) =>
      store.addStep({
        runId: id, step, handles: [[1 + step / steps, 1]], distances: [1], confidences: [1], latent: room.latent,
        frame: frames[step % frames.length], frameType: 'image/webp', elapsedMs: 5,
      }),
    ),
  );
  await store.finishRun(id, { reason: 'max-steps', steps: steps - 1 });
  return id;
}

/** `count` finished drag runs that applied no update: timeline entries with no steps. */
export async function writeShortRuns(store: RoomStore, roomId: string, count: number): Promise<void> {
  const room = (await store.get(roomId))!;
  for (let i = 0; i < count; i++) {
    const id = newRunId();
    await store.createRun({
      id, roomId, startedBy: ANN, kind: 'drag', method: 'draggan', points: [], settings: {}, mask: null, maskStrokes: [],
      latentBefore: room.latent, imageBefore: room.image, imageBeforeType: room.imageType,
    });
    await store.finishRun(id, { reason: 'stopped', steps: 0 });
  }
}

export interface LoopDelay {
  /**
   * Longest the event loop was held by work: the most time it spent busy (not waiting for events, by
   * performance.eventLoopUtilization) between two firings of a 5 ms interval timer. Time the OS gave the
   * thread to other processes while it was waiting does not count (on a loaded machine that is most of the
   * lateness below).
   */
  busyMaxMs: number;
  /** How late the 5 ms timer fired, at worst: what a client waited, busy or descheduled. */
  lateMaxMs: number;
  /** perf_hooks.monitorEventLoopDelay over the same time (sampling every 5 ms). */
  histogramMaxMs: number;
  p99Ms: number;
}

/** Measures how much the event loop is held while `work` runs (in this process: the server's loop). */
export async function measureLoopDelay<T>(work: () => Promise<T>): Promise<{ value: T; delay: LoopDelay }> {
  const interval = 5;
  const histogram = monitorEventLoopDelay({ resolution: interval });
  let last = performance.now();
  let lastElu = performance.eventLoopUtilization();
  let lateMax = 0;
  let busyMax = 0;
  const sample = () => {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    lateMax = Math.max(lateMax, now - last - interval);
    busyMax = Math.max(busyMax, elu.active - lastElu.active);
    last = now;
    lastElu = elu;
  };
  const timer = setInterval(sample, interval);
  histogram.enable();
  try {
    const value = await work();
    sample();
    return { value, delay: { busyMaxMs: busyMax, lateMaxMs: lateMax, histogramMaxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 } };
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
}

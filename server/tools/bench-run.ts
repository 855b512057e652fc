/**
 * Measures a drag run through the whole server (worker pool, frame encoding, Socket.IO): frame size and
 * step latency as a client sees them, and what the run's history costs in the database (issue 5: every
 * step's latent, lossless frame and tracking data).
 *
 *   npx tsx server/tools/bench-run.ts [model.safetensors] [steps] [webp|jpeg] [quality]
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { startStudioServer } from '../studio-server.js';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import { BUNDLED_MODEL } from '../config.js';
import type { RunFrame, Result } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { readModelHeader } from '../rooms/model-header.js';

const modelPath = process.argv[2] ?? BUNDLED_MODEL;
const steps = Number(process.argv[3] ?? 30);
const format = (process.argv[4] ?? 'webp') as 'webp' | 'jpeg';
const quality = Number(process.argv[5] ?? 80);
const res = readModelHeader(modelPath).config.img_resolution;

const dir = mkdtempSync(join(tmpdir(), 'stabledrag-bench-'));
const server = await startStudioServer({
  port: 0, host: '127.0.0.1', dbFile: join(dir, 'bench.db'), models: [{ id: 'm', label: 'm', path: modelPath }], measureStepTimes: false,
  frameFormat: format, frameQuality: quality, log: () => {},
});
try {
  const socket = io(server.url, { transports: ['websocket'] });
  const ask = async <T>(ev: string, ...a: unknown[]): Promise<T> => {
    const r = (await (socket as unknown as { emitWithAck: (e: string, ...x: unknown[]) => Promise<Result<T>> }).emitWithAck(ev, ...a));
    if (!r.ok) throw new Error(r.error.message);
    return r as T;
  };
  const room = await ask<{ roomId: string; editToken: string }>('room:create', { title: 'bench', model: 'm', seed: 7 });
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(server.url.replace('http', 'ws') + '/yjs', room.roomId, doc, { protocols: yjsProtocols(room.editToken), WebSocketPolyfill: WebSocket as never, disableBc: true });
  await new Promise<void>((ok) => provider.once('sync', () => ok()));
  const u = { id: 'b', name: 'bench', color: '#ffffff' };
  const q = res / 4;
  addPoint(doc, [q * 1.5, q * 2], u);
  addPoint(doc, [q * 2.5, q * 2.2], u);
  updateSettings(doc, { maxSteps: steps, lr: 0.002 });
  await new Promise((r) => setTimeout(r, 200));
  await ask('room:join', { token: room.editToken, user: u });
  const arrivals: number[] = [];
  const sizes: number[] = [];
  const done = new Promise<void>((ok) => socket.on('run:ended', () => ok()));
  socket.on('run:frame', (f: RunFrame, ack: () => void) => {
    if (!f.final) {
      arrivals.push(performance.now());
      sizes.push((f.image.bytes as Buffer).byteLength);
    }
    ack();
  });
  const t0 = performance.now();
  const { runId } = await ask<{ runId: string }>('run:start');
  await done;
  const total = performance.now() - t0;
  const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  const stats = server.runs.stats.at(-1)!;
  console.log(JSON.stringify({
    model: modelPath, resolution: res, format, quality, frames: sizes.length, totalMs: Math.round(total),
    firstFrameMs: Math.round(arrivals[0] - t0), clientStepMs: +mean(gaps).toFixed(1), workerStepMs: +stats.meanWorkerStepMs.toFixed(1),
    frameBytesMean: Math.round(mean(sizes)), frameBytesMax: Math.max(...sizes),
  }));
  const stored = await server.store.listSteps(runId);
  const latentB = stored.reduce((n, s) => n + s.latent.byteLength, 0);
  const frameB = stored.reduce((n, s) => n + (s.frame?.byteLength ?? 0), 0);
  const jsonB = stored.reduce((n, s) => n + JSON.stringify([s.handles, s.distances, s.confidences]).length, 0);
  const db = statSync(join(dir, 'bench.db')).size + (existsSync(join(dir, 'bench.db-wal')) ? statSync(join(dir, 'bench.db-wal')).size : 0);
  console.log(JSON.stringify({
    history: { steps: stored.length, latentBytesPerStep: latentB / stored.length, frameBytesPerStep: Math.round(frameB / stored.length),
      trackingBytesPerStep: Math.round(jsonB / stored.length), payloadBytesPer100Steps: Math.round(((latentB + frameB + jsonB) / stored.length) * 100),
      sqliteFileBytes: db },
  }));
  provider.destroy();
  socket.close();
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

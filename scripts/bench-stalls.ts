/**
 * How long each heavy request holds the server's event loop at the documented limits (a 128 px room whose
 * mask fills the document limits, a timeline of 300 entries and a 1000-step run), one request at a time and
 * all at once, with the wall time of each. The scenario is server/tools/stall-scenario.ts, the same the stall
 * test (tests/server/event-loop-stalls.test.ts) drives.
 *
 *   npm run bench:stalls [-- rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { startStudioServer } from '../server/studio-server.js';
import { BUNDLED_MODEL } from '../server/config.js';
import { YJS_PATH, type Result } from '../contract/events.js';
import { addMaskStroke, addPoint, readMask, updateSettings } from '../contract/room-doc.js';
import { rasterizeMask } from '../contract/mask.js';
import { measureLoopDelay, replaceLastStroke, storedFrames, worstCaseStrokes, writeLongRun, writeShortRuns, type LoopDelay } from '../server/tools/stall-scenario.js';
import { yjsProtocols } from '../contract/yjs-auth.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const RES = 128;
const dir = mkdtempSync(join(tmpdir(), 'stabledrag-stalls-'));
const server = await startStudioServer({
  port: 0, host: '127.0.0.1', dbFile: join(dir, 'bench.db'), models: [{ id: 'faces', label: 'Faces', path: BUNDLED_MODEL }], measureStepTimes: false, log: () => {},
  limits: { connectionsPerMinute: 1e6, stallSteps: 10_000, exportsInFlight: 4 },
});
const socket: Socket = ioClient(server.url, { transports: ['websocket'], reconnection: false });
const ask = async <T>(event: string, ...args: unknown[]): Promise<T> => {
  const r = (await socket.emitWithAck(event, ...args)) as Result<T>;
  if (!r.ok) throw new Error(`${event}: ${r.error.message}`);
  return r as T;
};
const get = async (path: string) => {
  const res = await fetch(server.url + path);
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return (await res.arrayBuffer()).byteLength;
};
const ann = { id: 'user-ann', name: 'ann', color: '#3366ff' };

const room = await ask<{ roomId: string; editToken: string; viewToken: string }>('room:create', { title: 'stalls', model: 'faces', seed: 3 });
const doc = new Y.Doc();
const provider = new WebsocketProvider(server.url.replace(/^http/, 'ws') + YJS_PATH, room.roomId, doc, { protocols: yjsProtocols(room.editToken), WebSocketPolyfill: WebSocket as never, disableBc: true });
await new Promise<void>((ok) => provider.once('sync', () => ok()));
doc.transact(() => {
  addPoint(doc, [40, 40], ann);
  addPoint(doc, [60, 50], ann);
  for (const s of worstCaseStrokes(RES)) addMaskStroke(doc, s, { size: RES });
  updateSettings(doc, { lr: 0.0001, maxSteps: 1000 });
});
const strokes = readMask(doc);
for (;;) {
  const d = await server.docs.acquire(room.roomId);
  const n = readMask(d).length;
  server.docs.release(d);
  if (n === strokes.length) break;
  await new Promise((r) => setTimeout(r, 50));
}
await writeShortRuns(server.store, room.roomId, 300);
const longRun = await writeLongRun(server.store, room.roomId, 1000, await storedFrames(8, RES));
await ask('room:join', { token: room.editToken, user: ann });
let frames = 0;
let ended = 0;
socket.on('run:frame', (_f: unknown, ack: () => void) => {
  frames++;
  ack();
});
socket.on('run:ended', () => ended++);

/** A mask the server has not rasterised, still at the limits. */
let nudge = 0;
const freshMask = () => replaceLastStroke(doc, RES, ++nudge * 1e-3);
const settle = async () => {
  await new Promise((r) => setTimeout(r, 300));
};

const cases: [string, () => Promise<unknown>][] = [
  ['DragBench mask.png (mask not cached)', async () => { freshMask(); await settle(); return measureLoopDelay(() => get(`/api/rooms/${room.viewToken}/dragbench/mask.png`)); }],
  ['DragBench mask.png (cached)', () => measureLoopDelay(() => get(`/api/rooms/${room.viewToken}/dragbench/mask.png`))],
  ['run:start to first frame, stop (mask not cached)', async () => {
    freshMask();
    await settle();
    const [f, e] = [frames, ended];
    return measureLoopDelay(async () => {
      await ask('run:start');
      while (frames === f) await new Promise((r) => setTimeout(r, 5));
      await ask('run:stop');
      while (ended === e) await new Promise((r) => setTimeout(r, 5));
    });
  }],
  ['history:list, newest page (302 entries)', () => measureLoopDelay(() => ask('history:list', {}))],
  ['history:list, 200 entries', () => measureLoopDelay(() => ask('history:list', { limit: 200 }))],
  ['animation.webp of a 1000-step run', () => measureLoopDelay(() => get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.webp`))],
  ['animation.gif of a 1000-step run', () => measureLoopDelay(() => get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.gif`))],
  ['all of the above at once (mask not cached)', async () => {
    freshMask();
    await settle();
    const [f, e] = [frames, ended];
    return measureLoopDelay(() =>
      Promise.all([
        get(`/api/rooms/${room.viewToken}/dragbench/mask.png`),
        (async () => {
          await ask('run:start');
          while (frames === f) await new Promise((r) => setTimeout(r, 5));
          await ask('run:stop');
          while (ended === e) await new Promise((r) => setTimeout(r, 5));
        })(),
        ask('history:list', {}),
        get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.webp`),
        get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.gif`),
      ]),
    );
  }],
];

const t0 = performance.now();
rasterizeMask(strokes, RES);
const syncMs = performance.now() - t0;
console.log(`rasterizeMask at the limits, ${RES} px, in one go (what the slices add up to): ${syncMs.toFixed(0)} ms`);
// A warm-up round: the first use of each query costs Prisma a plan, once per process.
for (const [, run] of cases) await run();
console.log(`worst of ${ROUNDS} rounds after a warm-up, ms: longest busy stretch of the loop | timer lateness | wall time`);
for (const [name, run] of cases) {
  let busy = 0;
  let late = 0;
  let wall = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const { delay } = (await run()) as { delay: LoopDelay };
    wall = Math.max(wall, performance.now() - t);
    busy = Math.max(busy, delay.busyMaxMs);
    late = Math.max(late, delay.lateMaxMs);
  }
  console.log(`${name.padEnd(52)} ${busy.toFixed(1).padStart(7)} ${late.toFixed(1).padStart(7)} ${wall.toFixed(0).padStart(7)}`);
}

socket.disconnect();
provider.destroy();
await server.close();
rmSync(dir, { recursive: true, force: true });

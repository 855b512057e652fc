/**
 * A watch link that floods sync requests (sync step 1 with an empty state vector: "the whole document") and
 * never reads, against a room whose document is ~300 KB: how much the server holds for it, whether it is
 * closed, and how long an edit takes to reach another peer meanwhile. Once with the default limits and once
 * with the Yjs connection limits lifted (each request answered at once, nothing capped), in one process.
 *
 *   npx tsx server/tools/bench-yjs-flood.ts [requests=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { io } from 'socket.io-client';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { startStudioServer } from '../studio-server.js';
import { addMaskStroke, addPoint, movePoint, readPoints } from '../../contract/room-doc.js';
import { YJS_PATH, type Result } from '../../contract/events.js';
import { MESSAGE_SYNC } from '../yjs/messages.js';
import type { ServerLimits } from '../limits.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';

const REQUESTS = Number(process.argv[2] ?? 1000);
const MODEL = resolve(import.meta.dirname, '../../tests/fixtures/parity/model.safetensors');
const held = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(label: string, limits: Partial<ServerLimits>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stabledrag-flood-'));
  const server = await startStudioServer({ port: 0, host: '127.0.0.1', dbFile: join(dir, 'b.db'), models: [{ id: 'm', label: 'm', path: MODEL }], measureStepTimes: false, log: () => {}, limits });
  const providers: WebsocketProvider[] = [];
  try {
    const socket = io(server.url, { transports: ['websocket'] });
    const r = (await (socket as unknown as { emitWithAck: (e: string, ...x: unknown[]) => Promise<Result<{ roomId: string; editToken: string; viewToken: string }>> }).emitWithAck('room:create', { title: 'flood', model: 'm', seed: 1 }));
    socket.disconnect();
    if (!r.ok) throw new Error(r.error.message);
    const peer = async (token: string) => {
      const doc = new Y.Doc();
      const p = new WebsocketProvider(server.url.replace(/^http/, 'ws') + YJS_PATH, r.roomId, doc, { protocols: yjsProtocols(token), WebSocketPolyfill: WebSocket as never, disableBc: true });
      providers.push(p);
      await new Promise<void>((ok) => p.once('sync', () => ok()));
      return doc;
    };
    const editor = await peer(r.editToken);
    const watcher = await peer(r.viewToken);
    for (let s = 0; s < 9; s++) addMaskStroke(editor, { mode: 'flexible', radius: 3, points: Array.from({ length: 4000 }, (_, i) => ((i * 7.31 + s) % 30) + 0.123) });
    const { id } = addPoint(editor, [1, 1], { id: 'e', name: 'e', color: '#123456' });
    while (readPoints(watcher).length === 0) await sleep(10);
    const docBytes = Y.encodeStateAsUpdate(editor).byteLength;

    const before = held();
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${YJS_PATH}/${r.roomId}`, yjsProtocols(r.viewToken));
    let closedAt = 0;
    let code = 0;
    ws.on('close', (c) => ((code = c), (closedAt ||= performance.now())));
    ws.on('error', () => {});
    await new Promise((ok) => ws.once('open', ok));
    ws.pause();
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(enc, new Y.Doc());
    const request = encoding.toUint8Array(enc);
    const t0 = performance.now();
    for (let i = 0; i < REQUESTS; i++) ws.send(request);
    // An edit every 100 ms while the server works through the flood: time until the watcher has it.
    const latencies: number[] = [];
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      movePoint(editor, id, 'handle', [i % 30, 2]);
      while (readPoints(watcher)[0]?.handle[0] !== i % 30 && performance.now() - t < 5000) await sleep(1);
      latencies.push(performance.now() - t);
      peak = Math.max(peak, held() - before);
      await sleep(100);
    }
    const dropped = [...(await server.docs.acquire(r.roomId)).conns.keys()].length === 2;
    latencies.sort((a, b) => a - b);
    console.log(
      `${label}: document ${(docBytes / 1e3).toFixed(0)} KB, ${REQUESTS} requests; flooder ${dropped ? `dropped (server side)` : 'still attached'}` +
        `${closedAt ? `, close ${code} seen after ${(closedAt - t0).toFixed(0)} ms` : ''}; peak extra memory ${(peak / 1e6).toFixed(0)} MB;` +
        ` edit -> watcher p50 ${latencies[15].toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
    );
    ws.terminate();
  } finally {
    for (const p of providers) p.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await scenario('default limits', {});
await scenario('limits lifted', { yjsMessagesPerSecond: 1e9, yjsMessageBurst: 1e9, yjsSyncIntervalMs: 1e-9, yjsBufferedBytes: 1e15 });
process.exit(0);

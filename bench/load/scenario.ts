/**
 * One load scenario against a running studio server: `rooms` rooms, each with one editor and
 * `clientsPerRoom - 1` watchers, every client a real Socket.IO client (websocket transport) and a real
 * y-websocket client. The editor of each room places a handle/target pair, then starts runs back to back
 * (run:start again on run:ended) and moves the pair's target `editHz` times a second.
 *
 * Given several web nodes (a cluster), room i's editor uses node i mod n and its watchers take the nodes in
 * turn, so most rooms have participants on every node and their frames cross between nodes.
 *
 * Measured inside the window [start + warmup, start + seconds]:
 * - frame delivery: receive time (Date.now()) - frame.producedAt (the server's Date.now() when the step
 *   reached it; same machine, same clock), for every frame every client gets (acknowledged at once, as the app
 *   does: without the ack the server's flow control sends no further frame);
 * - Yjs propagation: observe time - send time of each target move (performance.now() of this process; each
 *   move writes a unique x coordinate, so a watcher's observation maps back to its send time).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io as ioClient, type Socket } from 'socket.io-client';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import type { ClientToServerEvents, Point, PublicUser, Result, RunEnded, RunFrame, ServerToClientEvents } from '../../contract/events.js';
import { YJS_PATH } from '../../contract/events.js';
import { yjsProtocols } from '../../contract/yjs-auth.js';
import { addPoint, movePoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { RunSettings } from '../../contract/run-settings.js';
import { summarize, type LatencySummary } from './stats.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ScenarioSpec {
  name: string;
  rooms: number;
  /** Clients per room, the editor included. */
  clientsPerRoom: number;
  seconds: number;
  /** Seconds at the start of the load that are not measured (connections settle, first runs start). */
  warmupS: number;
  /** Target moves per second per room editor (0: no edits). */
  editHz: number;
  /** Whether editors start runs (false: Yjs load only, for profiling). Default true. */
  runs?: boolean;
  /** The recorded run: its points go into every room, its settings too (so a replay is never capped). */
  model: string;
  seed: number;
  points: { handle: Point; target: Point }[];
  settings: RunSettings;
  /**
   * Several nodes: every Yjs client of a room on its editor's node (Socket.IO clients still spread), for
   * clusters without a Yjs relay between nodes. Default false.
   */
  yjsOnEditorNode?: boolean;
}

/** Called at the window's start and end (the script samples the server's CPU and memory in between). */
export interface MeasureWindow<T> {
  start(): void | Promise<void>;
  stop(): T | Promise<T>;
}

export interface ScenarioResult<T> {
  name: string;
  rooms: number;
  clients: number;
  measuredS: number;
  setupS: number;
  frames: LatencySummary & {
    /** Frames received in the window (producedAt inside it), all clients together. */
    delivered: number;
    /** Distinct frames the rooms produced in the window (run, step, final), as seen by any client. */
    produced: number;
    /** delivered / (produced x clients in the room): below 1 when flow control skipped frames for slow clients. */
    deliveredShare: number;
    perSecond: number;
  };
  yjs: LatencySummary & { edits: number; observed: number; expected: number };
  runs: { started: number; ended: number; startErrors: number };
  /** Per second of the window: frames and Yjs observations received, and the worst latency of each (ms). */
  timeline: { s: number; frames: number; frameMax: number; yjs: number; yjsMax: number }[];
  /** The load generator's own event-loop delay over the window (ms beyond the sampling period): high values inflate measured latencies. */
  generatorLoopDelay: { p50: number; p99: number; max: number };
  server: T;
}

function connectSocket(url: string): Promise<ClientSocket> {
  const socket: ClientSocket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000 });
  return new Promise((ok, fail) => {
    socket.once('connect', () => ok(socket));
    socket.once('connect_error', fail);
  });
}

async function call<T>(socket: ClientSocket, event: keyof ClientToServerEvents, ...args: unknown[]): Promise<T> {
  const res = (await (socket as unknown as { timeout(ms: number): { emitWithAck: (e: string, ...a: unknown[]) => Promise<Result<T>> } })
    .timeout(20_000)
    .emitWithAck(event, ...args));
  if (!res.ok) throw Object.assign(new Error(`${event}: ${res.error.code}: ${res.error.message}`), { code: res.error.code });
  return res as T;
}

async function connectYjs(url: string, roomId: string, token: string): Promise<{ doc: Y.Doc; destroy(): void }> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url.replace(/^http/, 'ws') + YJS_PATH, roomId, doc, {
    protocols: yjsProtocols(token),
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  await new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`yjs sync of ${roomId} timed out`)), 20_000);
    const done = () => {
      clearTimeout(t);
      ok();
    };
    if (provider.synced) done();
    else provider.on('sync', (s: boolean) => s && done());
  });
  return {
    doc,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<I, O>(items: I[], n: number, fn: (item: I, i: number) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RoomClients {
  index: number;
  roomId: string;
  editor: ClientSocket;
  editorDoc: { doc: Y.Doc; destroy(): void };
  pairId: string;
  target: Point;
  sockets: ClientSocket[];
  watcherDocs: { doc: Y.Doc; destroy(): void }[];
  /** x coordinate -> performance.now() when the editor wrote it. */
  sent: Map<number, number>;
  produced: Set<string>;
  delivered: number;
  inRun: boolean;
  editTimer?: NodeJS.Timeout;
}

export async function runScenario<T>(nodes: string | string[], spec: ScenarioSpec, window: MeasureWindow<T>, log: (line: string) => void): Promise<ScenarioResult<T>> {
  const tSetup = performance.now();
  const urls = Array.isArray(nodes) ? nodes : [nodes];
  const url = urls[0];
  const editorNode = (room: number) => urls[room % urls.length];
  const watcherNode = (room: number, watcher: number) => urls[(room + watcher + 1) % urls.length];
  const frameLat: number[] = [];
  const yjsLat: number[] = [];
  const timeline: ScenarioResult<T>['timeline'] = [];
  const bucket = (perfNow: number) => {
    const s = Math.floor((perfNow - win.startPerf) / 1000);
    if (s < 0) return undefined;
    while (timeline.length <= s) timeline.push({ s: timeline.length, frames: 0, frameMax: 0, yjs: 0, yjsMax: 0 });
    return timeline[s];
  };
  const runs = { started: 0, ended: 0, startErrors: 0 };
  let edits = 0;
  // Window bounds in both clocks: frames carry Date.now(), Yjs sends are timed with performance.now().
  const win = { startMs: Infinity, endMs: Infinity, startPerf: Infinity, endPerf: Infinity };
  const inWindowMs = (t: number) => t >= win.startMs && t <= win.endMs;
  const inWindowPerf = (t: number) => t >= win.startPerf && t <= win.endPerf;
  let loadOn = true;

  const admin = await connectSocket(url);
  const created = await pool(Array.from({ length: spec.rooms }, (_, i) => i), 4, (i) =>
    call<{ roomId: string; editToken: string; viewToken: string }>(admin, 'room:create', { title: `${spec.name} room ${i}`, model: spec.model, seed: spec.seed }),
  );
  admin.disconnect();

  const onFrames = (room: RoomClients, socket: ClientSocket) => {
    socket.on('run:frame', (f: RunFrame, ack: () => void) => {
      const now = Date.now();
      ack();
      if (!inWindowMs(f.producedAt)) return;
      frameLat.push(now - f.producedAt);
      const b = bucket(performance.now());
      if (b) {
        b.frames++;
        b.frameMax = Math.max(b.frameMax, now - f.producedAt);
      }
      room.delivered++;
      room.produced.add(`${f.runId}/${f.step}/${f.final ? 1 : 0}`);
    });
  };

  const rooms = await pool(created, 4, async (c, index): Promise<RoomClients> => {
    const u: PublicUser = { id: `load-editor-${index}`, name: `Editor ${index}`, color: '#3366ff' };
    const editorDoc = await connectYjs(editorNode(index), c.roomId, c.editToken);
    let pairId = '';
    const [p] = spec.points;
    pairId = addPoint(editorDoc.doc, p.handle, u).id;
    addPoint(editorDoc.doc, p.target, u);
    updateSettings(editorDoc.doc, { ...spec.settings });
    const editor = await connectSocket(editorNode(index));
    const room: RoomClients = {
      index, roomId: c.roomId, editor, editorDoc, pairId, target: p.target, sockets: [editor], watcherDocs: [],
      sent: new Map(), produced: new Set(), delivered: 0, inRun: false,
    };
    onFrames(room, editor);
    await call(editor, 'room:join', { token: c.editToken, user: u });
    const watchers = await pool(Array.from({ length: spec.clientsPerRoom - 1 }, (_, i) => i), 8, async (w) => {
      const socket = await connectSocket(watcherNode(index, w));
      onFrames(room, socket);
      await call(socket, 'room:join', { token: c.viewToken, user: { id: `load-watcher-${index}-${w}`, name: `Watcher ${w}`, color: '#33aa66' } });
      const y = await connectYjs(spec.yjsOnEditorNode ? editorNode(index) : watcherNode(index, w), c.roomId, c.viewToken);
      let lastX = NaN;
      const observe = () => {
        const pair = readPoints(y.doc).find((q) => q.id === room.pairId);
        const x = pair?.target?.[0];
        if (x === undefined || x === lastX) return;
        lastX = x;
        const sentAt = room.sent.get(x);
        if (sentAt === undefined || !inWindowPerf(sentAt)) return;
        const now = performance.now();
        yjsLat.push(now - sentAt);
        const b = bucket(now);
        if (b) {
          b.yjs++;
          b.yjsMax = Math.max(b.yjsMax, +(now - sentAt).toFixed(1));
        }
      };
      y.doc.getArray('points').observeDeep(observe);
      return { socket, y };
    });
    for (const w of watchers) {
      room.sockets.push(w.socket);
      room.watcherDocs.push(w.y);
    }
    return room;
  });
  log(`  ${spec.name}: ${rooms.length} rooms x ${spec.clientsPerRoom} clients connected in ${((performance.now() - tSetup) / 1000).toFixed(1)} s`);

  // The editors' points must have reached the server before the first run:start (it refuses a room without a pair).
  const startRun = async (room: RoomClients): Promise<void> => {
    for (let attempt = 0; loadOn; attempt++) {
      try {
        room.inRun = true;
        await call(room.editor, 'run:start');
        runs.started++;
        return;
      } catch (err) {
        room.inRun = false;
        if ((err as { code?: string }).code !== 'no-points' || attempt > 50) {
          runs.startErrors++;
          log(`  run:start failed in room ${room.index}: ${(err as Error).message}`);
          return;
        }
        await sleep(50);
      }
    }
  };
  for (const room of rooms) {
    room.editor.on('run:ended', (e: RunEnded) => {
      if (e.roomId !== room.roomId) return;
      runs.ended++;
      room.inRun = false;
      if (loadOn) void startRun(room);
    });
  }

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const tLoad = performance.now();
  const setupS = (tLoad - tSetup) / 1000;
  win.startPerf = tLoad + spec.warmupS * 1000;
  win.endPerf = tLoad + spec.seconds * 1000;
  win.startMs = Date.now() + spec.warmupS * 1000;
  win.endMs = win.startMs + (spec.seconds - spec.warmupS) * 1000;

  // Rooms start staggered over one second, as people would, and edit on their own phase.
  const periodMs = spec.editHz > 0 ? 1000 / spec.editHz : 1000;
  rooms.forEach((room, i) => {
    const offset = (i / rooms.length) * Math.min(1000, periodMs);
    setTimeout(() => {
      if (!loadOn) return;
      if (spec.runs !== false) void startRun(room);
      if (!(spec.editHz > 0)) return;
      let seq = 0;
      room.editTimer = setInterval(() => {
        seq++;
        const x = room.target[0] + seq * 1e-3;
        room.sent.set(x, performance.now());
        if (inWindowPerf(performance.now())) edits++;
        movePoint(room.editorDoc.doc, room.pairId, 'target', [x, room.target[1]]);
      }, periodMs);
    }, offset);
  });

  await sleep(spec.warmupS * 1000);
  loopDelay.enable();
  await window.start();
  await sleep((spec.seconds - spec.warmupS) * 1000);
  const server = await window.stop();
  loopDelay.disable();

  // Wind down: no new runs or edits, stop the running ones, let the last frames and updates arrive.
  loadOn = false;
  for (const room of rooms) clearInterval(room.editTimer);
  await Promise.all(rooms.map((r) => call(r.editor, 'run:stop').catch(() => undefined)));
  const tStop = performance.now();
  while (rooms.some((r) => r.inRun) && performance.now() - tStop < 10_000) await sleep(50);
  await sleep(500);
  for (const room of rooms) {
    for (const s of room.sockets) s.disconnect();
    for (const d of room.watcherDocs) d.destroy();
    room.editorDoc.destroy();
  }

  const delivered = rooms.reduce((n, r) => n + r.delivered, 0);
  const produced = rooms.reduce((n, r) => n + r.produced.size, 0);
  const expectedDeliveries = rooms.reduce((n, r) => n + r.produced.size * r.sockets.length, 0);
  const measuredS = spec.seconds - spec.warmupS;
  // Delay beyond the 10 ms sampling period (an idle loop reads ~0).
  const ms = (ns: number) => +Math.max(0, ns / 1e6 - 10).toFixed(1);
  return {
    name: spec.name,
    rooms: spec.rooms,
    clients: spec.rooms * spec.clientsPerRoom,
    measuredS,
    setupS: +setupS.toFixed(1),
    frames: {
      ...summarize(frameLat),
      delivered,
      produced,
      deliveredShare: expectedDeliveries ? +(delivered / expectedDeliveries).toFixed(4) : NaN,
      perSecond: +(delivered / measuredS).toFixed(0),
    },
    yjs: { ...summarize(yjsLat), edits, observed: yjsLat.length, expected: edits * (spec.clientsPerRoom - 1) },
    runs,
    timeline,
    generatorLoopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
    server,
  };
}

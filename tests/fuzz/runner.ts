/**
 * The raw-protocol fuzzer's run for one seed. The server runs in a child process (tests/server/fixtures/serve.ts)
 * so that a crash is seen, not shared. Three well-behaved clients (two editors and a watcher, each a real
 * y-websocket and socket.io-client) edit a room and start short runs while fuzz actions (nextAction) hit every
 * protocol, a few at a time. Between batches a probe checks that the process is up, an edit reaches every
 * well-behaved replica, a Socket.IO request and /api/health are answered, and samples the server's RSS.
 * At the end the server is stopped cleanly and the SQLite file must hold what the clients hold.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { HistoryRun, RoomState, RunEnded } from '../../contract/events.js';
import { addPoint, movePoint, readPoints, readSettings, updateSettings } from '../../contract/room-doc.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { isRunning, startChild, stopChild, type Child } from '../server/child-server.js';
import { call, connectSocket, connectYjs, createRoom, tempDir, user, waitFor, type ClientSocket, type YClient } from '../server/helpers.js';
import { docState, expectRunsEnded, storedDocState } from '../server/room-agreement.js';
import { nextAction, type ActionKind, type FuzzAction } from './fuzz-actions.js';
import { Rng } from './fuzz-random.js';
import type { FuzzTargets } from './targets.js';

export interface FuzzOptions {
  seed: number;
  /** Most fuzz actions to send. */
  actions: number;
  /** Stop sending after this long (ms, from the first action), whatever the count. */
  durationMs: number;
  /** Actions in flight at once. Default 2. */
  concurrency?: number;
  /** A probe of the well-behaved clients after every this many actions. Default 10. */
  probeEvery?: number;
  /** Largest growth of the server's RSS over its level after set-up, MB. Default 400 (a loaded CI box, a wasm engine). */
  maxRssGrowthMb?: number;
  /** Send only these action indices (the others are still drawn, so the inputs stay the seed's): to find the one that fails. */
  only?: Set<number>;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  actions: number;
  byKind: Partial<Record<ActionKind, number>>;
  /** HTTP statuses and websocket close codes seen, with counts. */
  answers: Record<string, number>;
  /** The first few inputs answered with a 5xx (reported, not failed: a 5xx keeps the server up). */
  serverErrors: string[];
  probes: number;
  slowestProbeMs: number;
  rssStartMb: number | null;
  rssMaxMb: number | null;
  calmRuns: number;
  /** Server start, rooms and well-behaved clients; the fuzzing itself; everything, with the final checks. */
  setupMs: number;
  fuzzMs: number;
  elapsedMs: number;
}

/** Limits for the child: one address opens every connection here, and fuzz-started runs stay short. */
const CHILD_ENV = { STABLEDRAG_LIMIT_CONNECTIONS_PER_MINUTE: '1000000', STABLEDRAG_LIMIT_MAX_STEPS: '20' };
const PROBE_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 10_000;
const MAX_HELD = 30;

interface Peer {
  y: YClient;
  socket: ClientSocket;
  ended: RunEnded[];
}

function rssMb(pid: number | undefined): number | null {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, fail) => (timer = setTimeout(() => fail(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const concurrency = opts.concurrency ?? 2;
  const probeEvery = opts.probeEvery ?? 10;
  const t0 = Date.now();
  const tmp = tempDir();
  const dbFile = join(tmp.dir, 'studio.db');
  const report: FuzzReport = { seed: opts.seed, actions: 0, byKind: {}, answers: {}, serverErrors: [], probes: 0, slowestProbeMs: 0, rssStartMb: null, rssMaxMb: null, calmRuns: 0, setupMs: 0, fuzzMs: 0, elapsedMs: 0 };
  const peers: Peer[] = [];
  // Connections fuzz inputs keep open to the end: a server must still stop with them there.
  const held: Socket[] = [];
  const hold = (socket: Socket) => (held.length < MAX_HELD ? held.push(socket) : socket.destroy());
  const recent: string[] = [];
  let inFlight: string[] = [];
  let diedDuring: string[] | null = null;
  let child: Child | undefined;
  let stopping = false;
  try {
    child = await startChild(dbFile, CHILD_ENV);
    void child.exited.then(() => (diedDuring ??= [...inFlight]));
    const url = child.url;
    const port = Number(new URL(url).port);
    const calm = await createRoom(url);
    const fuzz = await createRoom(url, 4);
    const targets: FuzzTargets = { calmRoomId: calm.roomId, calmEditToken: calm.editToken, calmViewToken: calm.viewToken, fuzzRoomId: fuzz.roomId, fuzzEditToken: fuzz.editToken, fuzzViewToken: fuzz.viewToken, runIds: [] };

    const join = async (token: string, name: string): Promise<Peer> => {
      const y = await connectYjs(url, calm.roomId, token);
      const socket = await connectSocket(url);
      const peer: Peer = { y, socket, ended: [] };
      peers.push(peer);
      socket.on('run:frame', (_f, ack) => ack());
      socket.on('run:ended', (e) => peer.ended.push(e));
      await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
      return peer;
    };
    const editor = await join(calm.editToken, 'calm-a');
    const other = await join(calm.editToken, 'calm-b');
    const watcher = await join(calm.viewToken, 'calm-w');
    addPoint(editor.y.doc, [8, 8], user('calm-a'));
    addPoint(editor.y.doc, [12, 10], user('calm-a'));
    updateSettings(editor.y.doc, { maxSteps: 3 });
    const startRun = async () => {
      const { runId } = await call<{ runId: string }>(editor.socket, 'run:start');
      // Only the first: it exists before any input is drawn, so the inputs do not depend on timing.
      if (!targets.runIds.length) targets.runIds.push(runId);
      report.calmRuns++;
    };

    const alive = () => {
      if (!isRunning(child!)) throw new Error('the server process died');
    };
    const probe = async () => {
      const p0 = Date.now();
      alive();
      // Both editors edit: a learning rate no fuzz input writes (seeing it everywhere means the edit went
      // through) and a target moved within the image.
      const lr = Number((0.002 + report.probes * 1e-5 + 1e-7).toFixed(8));
      updateSettings(editor.y.doc, { lr });
      const pair = readPoints(other.y.doc)[0];
      if (pair) movePoint(other.y.doc, pair.id, 'target', [report.probes % 32, (report.probes * 7) % 32]);
      await waitFor(
        () => (alive(), [other, watcher].every((p) => readSettings(p.y.doc).lr === lr && docState(p.y.doc) === docState(editor.y.doc))),
        'the editors\' edits to reach every well-behaved replica',
        PROBE_TIMEOUT_MS,
      );
      await withTimeout(call<{ runs: HistoryRun[] }>(watcher.socket, 'history:list'), PROBE_TIMEOUT_MS, 'history:list');
      const health = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      if (!health.ok) throw new Error(`/api/health answered ${health.status}`);
      const rss = rssMb(child!.proc.pid);
      if (rss !== null) {
        report.rssStartMb ??= rss;
        report.rssMaxMb = Math.max(report.rssMaxMb ?? 0, rss);
        const growth = rss - report.rssStartMb;
        if (growth > (opts.maxRssGrowthMb ?? 400)) throw new Error(`server RSS grew by ${growth.toFixed(0)} MB (to ${rss.toFixed(0)} MB)`);
      }
      report.probes++;
      report.slowestProbeMs = Math.max(report.slowestProbeMs, Date.now() - p0);
    };

    await probe();
    await startRun();
    const rng = new Rng(opts.seed);
    let index = 0;
    const fuzzStart = Date.now();
    report.setupMs = fuzzStart - t0;
    while (index < opts.actions && Date.now() - fuzzStart < opts.durationMs) {
      const batch: [number, FuzzAction][] = [];
      for (let k = 0; k < concurrency && index < opts.actions; k++, index++) {
        const action = nextAction(rng, targets);
        if (!opts.only || opts.only.has(index)) batch.push([index, action]);
      }
      inFlight = batch.map(([i, a]) => `#${i} ${a.describe}`);
      const outcomes = await Promise.all(batch.map(([, a]) => a.run(port, hold)));
      inFlight = [];
      batch.forEach(([i, a], k) => {
        report.actions++;
        report.byKind[a.kind] = (report.byKind[a.kind] ?? 0) + 1;
        const { status, closeCode, acks } = outcomes[k];
        if (acks) report.answers['socket.io acks'] = (report.answers['socket.io acks'] ?? 0) + acks;
        if (status !== undefined) report.answers[`http ${status}`] = (report.answers[`http ${status}`] ?? 0) + 1;
        if (closeCode !== undefined) report.answers[`close ${closeCode}`] = (report.answers[`close ${closeCode}`] ?? 0) + 1;
        if (status !== undefined && status >= 500 && report.serverErrors.length < 5) report.serverErrors.push(`#${i} ${status}: ${a.describe}`);
        recent.push(`#${i} ${a.describe}`);
        if (recent.length > 8) recent.shift();
      });
      alive();
      if (index % probeEvery < concurrency) await probe();
      if (report.calmRuns === 1 && (index >= opts.actions / 2 || Date.now() - fuzzStart >= opts.durationMs / 2)) await startRun();
    }
    await probe();
    report.fuzzMs = Date.now() - fuzzStart;

    // The well-behaved runs end; then the replicas, the stopped server's SQLite file and the run records agree.
    await waitFor(() => other.ended.filter((e) => e.roomId === calm.roomId).length >= report.calmRuns, 'the well-behaved runs to end', 60_000);
    const state = docState(editor.y.doc);
    await waitFor(() => peers.every((p) => docState(p.y.doc) === state), 'the replicas to agree', PROBE_TIMEOUT_MS);
    for (const p of peers.splice(0)) {
      p.y.destroy();
      p.socket.disconnect();
    }
    stopping = true;
    const code = await stopChild(child, STOP_GRACE_MS);
    if (code !== 0) throw new Error(`the server did not stop cleanly within ${STOP_GRACE_MS / 1000} s of SIGTERM (exit ${code}; ${held.length} fuzz connections still open)`);
    const store = PrismaRoomStore.open(dbFile);
    try {
      const stored = await storedDocState(store, calm.roomId);
      if (stored !== state) throw new Error(`the stored document differs from the clients'\n  clients: ${state}\n  stored:  ${stored}`);
      await expectRunsEnded(store, calm.roomId, 'the calm room');
      await expectRunsEnded(store, fuzz.roomId, 'the fuzz room');
    } finally {
      await store.close();
    }
    report.elapsedMs = Date.now() - t0;
    log(`[fuzz] seed ${opts.seed}: ${report.actions} actions ${JSON.stringify(report.byKind)} in ${(report.fuzzMs / 1000).toFixed(1)} s (set-up ${(report.setupMs / 1000).toFixed(1)} s, all ${(report.elapsedMs / 1000).toFixed(1)} s), ${report.probes} probes (slowest ${report.slowestProbeMs} ms), RSS ${report.rssStartMb?.toFixed(0)} -> max ${report.rssMaxMb?.toFixed(0)} MB, answers ${JSON.stringify(report.answers)}${report.serverErrors.length ? `\n  5xx answers:\n    ${report.serverErrors.join('\n    ')}` : ''}`);
    return report;
  } catch (err) {
    // A crash is often first seen as a client's dropped connection: give the exit a moment to show.
    if (child) await Promise.race([child.exited, new Promise((r) => setTimeout(r, 2000))]);
    const dead = child && !stopping && !isRunning(child);
    const lines = [
      `[fuzz] seed ${opts.seed} failed: ${dead ? `the server process died (seen as: ${(err as Error).message})` : (err as Error).message}`,
      ...(dead ? [`  the server exited (code ${child!.proc.exitCode}, signal ${child!.proc.signalCode}) while these were in flight:`, ...(diedDuring ?? []).map((d) => `    ${d}`)] : []),
      '  last actions sent:',
      ...recent.map((d) => `    ${d}`),
      '  server log (end):',
      child ? child.log.join('').slice(-3000) : '(not started)',
    ];
    throw Object.assign(new Error(lines.join('\n')), { cause: err });
  } finally {
    for (const p of peers) {
      p.y.destroy();
      p.socket.disconnect();
    }
    if (child) await stopChild(child, STOP_GRACE_MS);
    held.forEach((s) => s.destroy());
    tmp.cleanup();
  }
}

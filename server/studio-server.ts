/**
 * Composes the studio in one Node process on one port: the Next.js app, Socket.IO, the Yjs websocket
 * endpoint, the worker pool and the database. Tests start it on port 0 without Next.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as IOServer, type ServerOptions as IOServerOptions } from 'socket.io';
import { migrateDatabase } from './db/migrate.js';
import type { Database } from './db/database.js';
import { lockDataDir, type DataDirLock } from './db/data-dir-lock.js';
import { retryDelayMs, retryPolicy } from './db/retry.js';
import { DocServer } from './yjs/doc-server.js';
import { WorkerPool } from './jobs/worker-pool.js';
import type { JobQueue } from './jobs/job-queue.js';
import type { FrameFormat } from './jobs/worker-protocol.js';
import { ModelRegistry, type ModelEntry } from './rooms/model-registry.js';
import { ModelStats } from './rooms/model-stats.js';
import { ModelStatStore } from './db/model-stat-store.js';
import { PrismaRoomStore } from './rooms/prisma-room-store.js';
import type { RoomStore } from './rooms/room-store.js';
import { INTERRUPTED_RUN } from './rooms/history-store.js';
import { roomDocHooks } from './rooms/room-doc-hooks.js';
import { RoomService } from './rooms/room-service.js';
import { StepFrames } from './runs/step-frames.js';
import { RunCoordinator } from './runs/run-coordinator.js';
import { RoomHistory } from './runs/room-history.js';
import { SocketBroadcaster } from './realtime/socket-broadcaster.js';
import type { RunBroadcaster } from './runs/run-broadcaster.js';
import type { RunQueue, RunQueueEvents } from './runs/run-queue.js';
import { registerHandlers } from './realtime/socket-handlers.js';
import { addressQuotas } from './realtime/address-quotas.js';
import type { StudioIO } from './realtime/types.js';
import { createApiHandler } from './http-routes.js';
import { createPhotoRoomHandler } from './rooms/photo-room-route.js';
import { createFaceCropHandler } from './rooms/face-crop-route.js';
import { SOCKET_IO_PATH, YJS_PATH } from '../contract/events.js';
import type { DocServerHooks } from './yjs/doc-server.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { ConnectionRateLimiter } from './connection-rate-limiter.js';
import { clientAddress, NO_TRUSTED_PROXIES, type TrustedProxies } from './client-address.js';
import { parseRequestTarget, refuseUpgrade } from './request-target.js';
import { securityHeaders } from './security-headers.js';
import { checkReadiness } from './health.js';
import type { BackendName } from '../engine/src/backends/names.js';
import type { ClusterParts } from './cluster/cluster-parts.js';
import { listenForRemoteRevocations } from './realtime/revoke-links.js';

/** How long close() lets websocket peers finish their close handshake before their sockets are cut. */
const SHUTDOWN_SOCKET_GRACE_MS = 1000;

export interface NextAppHandle {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
  /** Next's own websocket upgrades (dev HMR); absent in production. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close?(): Promise<void>;
}

export interface StudioServerOptions {
  /** 0 picks a free port. Default 3000. */
  port?: number;
  host?: string;
  /** SQLite file; created and migrated at start. One server per file: a second one fails to start (DataDirLockedError). */
  dbFile: string;
  /** PostgreSQL (DATABASE_URL) instead of `dbFile`: migrated at start like the file. */
  database?: Database;
  /** The lock on `dbFile`, when the caller took it earlier (`npm start` does, before building the app); released at close. */
  dataDirLock?: DataDirLock;
  /** Wraps the store the server uses (tests: a store that fails on demand around the real one). */
  wrapStore?: (store: RoomStore) => RoomStore;
  /** Fixed models (tests); offered before, and instead of, any of `modelsDir` with the same id. */
  models?: ModelEntry[];
  /** The models directory: each `<id>/model.safetensors` is a model, scanned at start and on `models:rescan`. */
  modelsDir?: string;
  /** Measure a few drag steps of each model not yet measured while the workers are idle. Default true. */
  measureStepTimes?: boolean;
  /** Worker threads running drags. Default 1. */
  poolSize?: number;
  backend?: 'wasm' | 'cpu';
  /** One drag worker per entry, each on its backend (STABLEDRAG_WORKER_BACKENDS). */
  workerBackends?: BackendName[];
  /** Replace the worker pool (a cluster: BullJobQueue, made from the server's model registry). */
  jobs?: JobQueue | ((models: ModelRegistry, hooks: { onDragSteps: (modelPath: string, stepMs: number[]) => void }) => JobQueue);
  /**
   * Replace the in-process run queue (a cluster: RedisRunQueue). Runs another process left 'running' are then
   * not ended at start, since other nodes may be running them (the cluster queue ends those of dead nodes).
   */
  runQueue?: (ctx: { events: RunQueueEvents; store: RoomStore; limits: ServerLimits; retryAfterSeconds: () => number }) => RunQueue;
  /** Replace the Socket.IO broadcaster of runs (a cluster: RoomRelay); closed with the server. */
  broadcaster?: (io: StudioIO) => RunBroadcaster;
  /** The web app; omitted in tests that only speak Socket.IO and Yjs. */
  next?: NextAppHandle;
  /** Socket.IO options, e.g. `adapter` to swap in the Redis adapter when scaling out. */
  io?: Partial<IOServerOptions>;
  /** Yjs persistence debounce (defaults 2 s / 10 s) and idle unload delay. */
  yjs?: { debounceMs?: number; maxDebounceMs?: number; unloadDelayMs?: number };
  /** Extra Yjs hooks (limits, logging), after the built-in room auth and storage. */
  yjsHooks?: DocServerHooks[];
  frameFormat?: FrameFormat;
  frameQuality?: number;
  /** Overrides of the operational limits (server/limits.ts); `npm start` reads them from the environment. */
  limits?: Partial<ServerLimits>;
  /** Reverse proxies whose X-Forwarded-For names the client (client-address.ts); default none. */
  trustedProxies?: TrustedProxies;
  /** Development build of the app (its CSP allows what React's dev build and hot reload need). */
  dev?: boolean;
  log?: (line: string) => void;
  /**
   * Cluster mode (server/cluster/cluster-parts.ts): Socket.IO through the Redis streams adapter, Yjs relayed
   * through Redis with shared storage, link rotations told to every node, Redis in readiness. Closed with the
   * server. Needs `database` (PostgreSQL).
   */
  cluster?: ClusterParts;
}

export interface StudioServer {
  url: string;
  port: number;
  io: StudioIO;
  docs: DocServer;
  runs: RunCoordinator;
  store: RoomStore;
  /** The engine's job queue (tests render stored latents through it to check replay). */
  jobs: JobQueue;
  /** Counts of refused watcher writes per room (observability; tests read it). */
  refusedWrites: Map<string, number>;
  /** The limits in force (defaults merged with the options). */
  limits: ServerLimits;
  /** The client address of a request, behind the configured trusted proxies (for per-address limits). */
  clientAddress(req: IncomingMessage): string;
  close(): Promise<void>;
}

export async function startStudioServer(opts: StudioServerOptions): Promise<StudioServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const connections = new ConnectionRateLimiter({ maxPerMinute: limits.connectionsPerMinute, banMs: limits.banSeconds * 1000 });
  const trustedProxies = opts.trustedProxies ?? NO_TRUSTED_PROXIES;
  const addressOf = (req: IncomingMessage) => clientAddress(req, trustedProxies);
  const lock = opts.dataDirLock ?? lockDataDir(opts.dbFile);
  let store: RoomStore;
  let modelStats: ModelStatStore;
  try {
    const db = opts.database ?? opts.dbFile;
    const applied = await migrateDatabase(db);
    if (applied.length) log(`[db] applied migrations: ${applied.join(', ')}`);
    const real = PrismaRoomStore.open(db);
    store = opts.wrapStore ? opts.wrapStore(real) : real;
    modelStats = ModelStatStore.open(db);
    // Runs a previous process left 'running' (it was killed): nothing is running yet, so they are over.
    const interrupted = opts.runQueue ? [] : await store.endUnfinishedRuns(INTERRUPTED_RUN);
    if (interrupted.length) log(`[runs] marked ${interrupted.length} run(s) interrupted by the last stop: ${interrupted.join(', ')}`);
  } catch (err) {
    lock.release();
    throw err;
  }
  const storeRetry = retryPolicy(limits);
  const models = new ModelRegistry({ models: opts.models, modelsDir: opts.modelsDir }, { log });
  const stats = new ModelStats(modelStats, models, log);
  try {
    await stats.load();
  } catch (err) {
    log(`[models] stored step times could not be read (they will be measured again): ${(err as Error).message}`);
  }
  const jobs =
    (typeof opts.jobs === 'function' ? opts.jobs(models, { onDragSteps: (modelPath, stepMs) => stats.record(modelPath, stepMs) }) : opts.jobs) ??
    new WorkerPool({
      size: opts.poolSize ?? 1, backend: opts.backend, workerBackends: opts.workerBackends, silenceMs: limits.workerSilenceSeconds * 1000,
      rendersWaiting: limits.rendersWaiting, rendersWaitingPerCaller: limits.rendersWaitingPerCaller,
      onDragSteps: (modelPath, stepMs) => stats.record(modelPath, stepMs),
    });
  if (opts.measureStepTimes !== false) stats.measureWhenIdle(jobs);
  const rooms = new RoomService(store, jobs, models, opts.frameFormat ?? 'webp', limits.previewCacheBytes);
  const stepFrames = new StepFrames(jobs, rooms);
  const refusedWrites = new Map<string, number>();
  const docs = new DocServer({
    path: YJS_PATH,
    maxPayload: limits.yjsMessageBytes,
    storeRetryDelayMs: (n) => retryDelayMs(storeRetry, n),
    messagesPerSecond: limits.yjsMessagesPerSecond,
    messageBurst: limits.yjsMessageBurst,
    maxBufferedBytes: limits.yjsBufferedBytes,
    syncIntervalMs: limits.yjsSyncIntervalMs,
    maxDocumentBytes: limits.yjsDocumentBytes,
    // Not in a cluster: two nodes compacting one entry at once would each insert a copy of it.
    compaction: opts.cluster ? undefined : { ratio: limits.yjsCompactTombstoneRatio, minTombstones: limits.yjsCompactMinTombstones },
    ...opts.yjs,
    hooks: [
      { onConnect: ({ request }) => connections.allow(addressOf(request)) },
      roomDocHooks(store, {
        onRefusedWrite: (roomId) => refusedWrites.set(roomId, (refusedWrites.get(roomId) ?? 0) + 1),
        size: (room) => rooms.size(room),
        kind: (room) => rooms.modelKind(room),
        onRefusedUpdate: (roomId, reason) => log(`[yjs] ${roomId}: refused an update: ${reason}`),
        shared: opts.cluster?.sharedDocuments,
      }),
      ...(opts.yjsHooks ?? []),
      ...(opts.cluster?.yjsHooks ?? []),
    ],
  });

  let draining = false;
  const api = createApiHandler({
    store,
    docs,
    size: (room) => rooms.size(room),
    frames: stepFrames,
    limits,
    readiness: () =>
      checkReadiness({ database: () => store.ping(), workers: () => jobs.liveWorkers?.(), redis: opts.cluster?.ping, draining: () => draining }),
  });
  const http = createServer((req, res) => {
    for (const [name, value] of Object.entries(securityHeaders(opts.dev, req.headers.host))) res.setHeader(name, value);
    const text = (status: number, message: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(message + '\n');
    const url = parseRequestTarget(req.url);
    // Next and the routes below would throw on it; no route can be meant by it.
    if (!url) return text(400, 'bad request target');
    Promise.resolve()
      .then(async () => (await photoRoute(req, res, url)) || (await faceCropRoute(req, res, url)) || api(req, res, url))
      .then((done) => {
        if (done) return;
        if (opts.next) return opts.next.handle(req, res);
        text(404, 'not found');
      })
      .catch((err) => {
        // The path may hold a room token: only the error is logged.
        console.error(`[http] ${req.method} request failed:`, err);
        if (!res.headersSent) text(500, 'internal error');
        else res.destroy();
      });
  });
  const sockets = new Set<Duplex>();
  http.on('connection', (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const io: StudioIO = new IOServer(http, {
    path: SOCKET_IO_PATH,
    // Other upgrades (Yjs, Next HMR) share this server: Socket.IO must not destroy them.
    destroyUpgrade: false,
    // Client messages are small JSON requests; frames only go the other way.
    maxHttpBufferSize: limits.socketMessageBytes,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
    ...(opts.cluster && { adapter: opts.cluster.socketAdapter }),
    ...opts.io,
  });
  // Socket.IO's own HTTP answers (polling, handshake errors) bypass the request listener above.
  const addHeaders = (h: Record<string, string>, req: IncomingMessage) => Object.assign(h, securityHeaders(opts.dev, req.headers.host));
  io.engine.on('initial_headers', addHeaders);
  io.engine.on('headers', addHeaders);
  io.use((socket, next) => {
    // A throw in a middleware would escape Socket.IO's connect path and end the process.
    try {
      if (connections.allow(addressOf(socket.request))) return next();
      next(Object.assign(new Error('too many connections from this address; try again later'), { data: { code: 'rate-limited' } }));
    } catch (err) {
      console.error('[socket] connection check failed:', err);
      next(Object.assign(new Error('the connection could not be checked'), { data: { code: 'internal' } }));
    }
  });
  const broadcast: RunBroadcaster = opts.broadcaster?.(io) ?? new SocketBroadcaster(io);
  const { runQueue } = opts;
  const runs = new RunCoordinator({
    jobs, docs, store, rooms, broadcast, frameFormat: opts.frameFormat, frameQuality: opts.frameQuality, limits, log,
    queue: runQueue && ((events, retryAfterSeconds) => runQueue({ events, store, limits, retryAfterSeconds })),
  });
  const history = new RoomHistory({ store, docs, jobs, rooms, frames: stepFrames, runs, broadcast, retry: storeRetry, log });
  const quotas = addressQuotas(limits);
  const photoRoute = createPhotoRoomHandler({ rooms, runs, store, docs, quotas, limits, clientAddress: addressOf });
  const faceCropRoute = createFaceCropHandler({ rooms, jobs, quotas, limits, clientAddress: addressOf });
  const messageRate = { perSecond: limits.socketMessagesPerSecond, burst: limits.socketMessageBurst };
  if (opts.cluster) listenForRemoteRevocations({ io, docs });
  io.on('connection', (socket) => {
    try {
      registerHandlers(socket, { io, store, rooms, models, stats, runs, history, docs, requestsInFlight: limits.requestsInFlight, messageRate, quotas, clientAddress: addressOf, acrossNodes: !!opts.cluster });
    } catch (err) {
      console.error('[socket] setting up a connection failed:', err);
      socket.disconnect(true);
    }
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops watching an upgraded socket for errors: a client that resets it before ws (or engine.io)
    // takes it would otherwise raise an unhandled 'error' and end the process.
    socket.on('error', () => socket.destroy());
    const url = parseRequestTarget(req.url);
    if (!url) return refuseUpgrade(socket, 400, 'bad request target');
    try {
      if (docs.handles(req)) docs.handleUpgrade(req, socket, head);
      // engine.io's own upgrade listener takes only raw targets under SOCKET_IO_PATH + '/' and, with
      // destroyUpgrade off, leaves any other open (half-open for good, holding close()): refused below.
      else if (req.url?.startsWith(SOCKET_IO_PATH + '/')) return;
      else if (opts.next?.upgrade) opts.next.upgrade(req, socket, head);
      else refuseUpgrade(socket, 404, 'no websocket here');
    } catch (err) {
      console.error('[http] upgrade failed:', err);
      refuseUpgrade(socket, 500, 'internal error');
    }
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 3000, opts.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${opts.host && opts.host !== '0.0.0.0' ? opts.host : 'localhost'}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      // Serving on while readiness fails lets a load balancer take the node out before connections are refused.
      if (opts.cluster?.drainDelayMs) await new Promise((r) => setTimeout(r, opts.cluster!.drainDelayMs));
      // A cluster node stops taking connections first, so its clients reconnect to the other nodes only.
      let httpClosed = opts.cluster ? new Promise<void>((resolve) => http.close(() => resolve())) : undefined;
      // Order matters: finish runs (they write handles and images), then store documents, then stop workers.
      await runs.close();
      io.close();
      await broadcast.close?.();
      await docs.close();
      await jobs.close();
      await stats.close();
      await modelStats.close();
      await opts.next?.close?.();
      http.closeAllConnections();
      httpClosed ??= new Promise<void>((resolve) => http.close(() => resolve()));
      // Upgraded sockets are no longer the HTTP server's to close: a websocket peer that never answers the
      // close handshake would hold close() for ws's 30 s close timeout. The closes were sent; cut the rest.
      const cut = setTimeout(() => sockets.forEach((s) => s.destroy()), SHUTDOWN_SOCKET_GRACE_MS);
      await httpClosed;
      clearTimeout(cut);
      await store.close();
      await opts.cluster?.close();
      lock.release();
    })());

  return { url, port, io, docs, runs, store, jobs, refusedWrites, limits, clientAddress: addressOf, close };
}

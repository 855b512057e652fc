/**
 * Composes the studio in one Node process on one port: the Next.js app, Socket.IO, the Yjs websocket
 * endpoint, the worker pool and the database. Tests start it on port 0 without Next.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as IOServer, type ServerOptions as IOServerOptions } from 'socket.io';
import { migrateDatabase } from './db/migrate.js';
import { DocServer } from './yjs/doc-server.js';
import { WorkerPool } from './jobs/worker-pool.js';
import type { JobQueue } from './jobs/job-queue.js';
import type { FrameFormat } from './jobs/worker-protocol.js';
import { ModelRegistry, type ModelEntry } from './rooms/model-registry.js';
import { PrismaRoomStore } from './rooms/prisma-room-store.js';
import { INTERRUPTED_RUN } from './rooms/history-store.js';
import { roomDocHooks } from './rooms/room-doc-hooks.js';
import { RoomService } from './rooms/room-service.js';
import { RunCoordinator } from './runs/run-coordinator.js';
import { RoomHistory } from './runs/room-history.js';
import { SocketBroadcaster } from './realtime/socket-broadcaster.js';
import { registerHandlers } from './realtime/socket-handlers.js';
import type { StudioIO } from './realtime/types.js';
import { createApiHandler } from './http-routes.js';
import { SOCKET_IO_PATH, YJS_PATH } from './protocol/events.js';
import type { DocServerHooks } from './yjs/doc-server.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { ConnectionRateLimiter } from './connection-rate-limiter.js';

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
  /** SQLite file; created and migrated at start. */
  dbFile: string;
  models: ModelEntry[];
  /** Worker threads running drags. Default 1. */
  poolSize?: number;
  backend?: 'wasm' | 'cpu';
  /** Replace the worker pool (a Redis-backed queue later). */
  jobs?: JobQueue;
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
  log?: (line: string) => void;
}

export interface StudioServer {
  url: string;
  port: number;
  io: StudioIO;
  docs: DocServer;
  runs: RunCoordinator;
  store: PrismaRoomStore;
  /** The engine's job queue (tests render stored latents through it to check replay). */
  jobs: JobQueue;
  /** Counts of refused watcher writes per room (observability; tests read it). */
  refusedWrites: Map<string, number>;
  /** The limits in force (defaults merged with the options). */
  limits: ServerLimits;
  close(): Promise<void>;
}

export async function startStudioServer(opts: StudioServerOptions): Promise<StudioServer> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const connections = new ConnectionRateLimiter({ maxPerMinute: limits.connectionsPerMinute, banMs: limits.banSeconds * 1000 });
  const applied = await migrateDatabase(opts.dbFile);
  if (applied.length) log(`[db] applied migrations: ${applied.join(', ')}`);
  const store = PrismaRoomStore.open(opts.dbFile);
  // Runs a previous process left 'running' (it was killed): nothing is running yet, so they are over.
  const interrupted = await store.endUnfinishedRuns(INTERRUPTED_RUN);
  if (interrupted.length) log(`[runs] marked ${interrupted.length} run(s) interrupted by the last stop: ${interrupted.join(', ')}`);
  const models = new ModelRegistry(opts.models);
  const jobs = opts.jobs ?? new WorkerPool({ size: opts.poolSize ?? 1, backend: opts.backend, silenceMs: limits.workerSilenceSeconds * 1000 });
  const rooms = new RoomService(store, jobs, models, opts.frameFormat ?? 'webp');
  const refusedWrites = new Map<string, number>();
  const docs = new DocServer({
    path: YJS_PATH,
    maxPayload: limits.yjsMessageBytes,
    ...opts.yjs,
    hooks: [
      { onConnect: ({ request }) => connections.allow(request.socket.remoteAddress) },
      roomDocHooks(store, {
        onRefusedWrite: (roomId) => refusedWrites.set(roomId, (refusedWrites.get(roomId) ?? 0) + 1),
        resolution: (room) => rooms.image(room).width,
        onRefusedUpdate: (roomId, reason) => log(`[yjs] ${roomId}: refused an update: ${reason}`),
      }),
      ...(opts.yjsHooks ?? []),
    ],
  });

  const api = createApiHandler({ store, docs, resolution: (room) => rooms.image(room).width, limits });
  const http = createServer((req, res) => {
    api(req, res)
      .then((done) => {
        if (done) return;
        if (opts.next) return opts.next.handle(req, res);
        res.writeHead(404).end('not found');
      })
      .catch((err) => {
        console.error('[http]', err);
        if (!res.headersSent) res.writeHead(500).end('internal error');
      });
  });

  const io: StudioIO = new IOServer(http, {
    path: SOCKET_IO_PATH,
    // Other upgrades (Yjs, Next HMR) share this server: Socket.IO must not destroy them.
    destroyUpgrade: false,
    // Client messages are small JSON requests; frames only go the other way.
    maxHttpBufferSize: limits.socketMessageBytes,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
    ...opts.io,
  });
  io.use((socket, next) => {
    if (connections.allow(socket.handshake.address)) return next();
    next(Object.assign(new Error('too many connections from this address; try again later'), { data: { code: 'rate-limited' } }));
  });
  const broadcast = new SocketBroadcaster(io);
  const runs = new RunCoordinator({ jobs, docs, store, rooms, broadcast, frameFormat: opts.frameFormat, frameQuality: opts.frameQuality, limits });
  const history = new RoomHistory({ store, docs, jobs, rooms, runs, broadcast });
  io.on('connection', (socket) => registerHandlers(socket, { io, store, rooms, models, runs, history, docs, requestsInFlight: limits.requestsInFlight }));

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (docs.handles(req)) docs.handleUpgrade(req, socket, head);
    else if (req.url?.startsWith(SOCKET_IO_PATH)) return; // engine.io's own upgrade listener takes it
    else if (opts.next?.upgrade) opts.next.upgrade(req, socket, head);
    else socket.destroy();
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
      // Order matters: finish runs (they write handles and images), then store documents, then stop workers.
      await runs.close();
      io.close();
      await docs.close();
      await jobs.close();
      await opts.next?.close?.();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await store.close();
    })());

  return { url, port, io, docs, runs, store, jobs, refusedWrites, limits, close };
}

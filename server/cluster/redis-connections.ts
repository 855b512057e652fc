/**
 * The one way a process of the cluster (web node or `npm run worker`) opens Redis connections: every client
 * carries the deployment's prefix and the node id in its connection name (CLIENT LIST tells whose it is),
 * reconnects for good with a 2 s back-off, and logs an outage once rather than on every retry.
 *
 * `connectRedis` opens the web node's two shared connections: one for commands (and publishing), one
 * subscriber (a connection in subscribe mode can run nothing else). Parts that need connections of their own
 * (BullMQ's blocking reads, the run queue's and the room relay's subscribers) get them from a RedisConnector,
 * made from the same settings: `connections.connector`, or `redisConnector()` in a worker process.
 */
import { Redis } from 'ioredis';
import { describeRedisUrl } from './redis-url.js';

/** Opens clients with the deployment's settings, for parts that need connections of their own. */
export interface RedisConnector {
  /** Prefix of every key and channel (STABLEDRAG_REDIS_PREFIX), so several studios can share one Redis. */
  readonly prefix: string;
  /** The process (STABLEDRAG_NODE_ID), for connection names and logs. */
  readonly nodeId: string;
  /**
   * A new client; the caller quits it. Its commands wait out a reconnect rather than fail after a number of
   * retries (maxRetriesPerRequest null), which BullMQ requires of the connections it is given.
   */
  connect(name: string): Redis;
}

export interface RedisConnections {
  /** Commands and PUBLISH. */
  readonly commands: Redis;
  /** SUBSCRIBE only. */
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly nodeId: string;
  /** More connections with the same settings. */
  readonly connector: RedisConnector;
  /** `prefix:part:part...` */
  key(...parts: string[]): string;
  /** PING on the command connection (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long the first connection may take before start-up fails (a wrong REDIS_URL should not hang a node). */
const CONNECT_TIMEOUT_MS = 10_000;

interface OpenOptions {
  url: string;
  prefix: string;
  nodeId: string;
  log: (line: string) => void;
  lazyConnect?: boolean;
  /** Null: commands wait for the connection to come back (BullMQ's blocking reads need it). */
  maxRetriesPerRequest?: number | null;
}

function openRedis(role: string, opts: OpenOptions): Redis {
  const client = new Redis(opts.url, {
    connectionName: `${opts.prefix}:${opts.nodeId}:${role}`,
    // Reconnect for good, backing off to 2 s: a Redis restart must not end the process (readiness reports it).
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: opts.lazyConnect,
    ...(opts.maxRetriesPerRequest !== undefined && { maxRetriesPerRequest: opts.maxRetriesPerRequest }),
  });
  let down = false;
  // Without a listener ioredis reports each failed reconnect as an unhandled error; it keeps reconnecting either way.
  client.on('error', (err: Error) => {
    if (!down) opts.log(`[redis] ${role} connection to ${describeRedisUrl(opts.url)} failed: ${err.message}; retrying`);
    down = true;
  });
  client.on('ready', () => {
    if (down) opts.log(`[redis] ${role} connection is back`);
    down = false;
  });
  return client;
}

export function redisConnector(opts: { url: string; prefix: string; nodeId: string; log?: (line: string) => void }): RedisConnector {
  const log = opts.log ?? ((line: string) => console.warn(line));
  return {
    prefix: opts.prefix,
    nodeId: opts.nodeId,
    connect: (name) => openRedis(name, { ...opts, log, maxRetriesPerRequest: null }),
  };
}

export async function connectRedis(opts: { url: string; prefix: string; nodeId: string; log?: (line: string) => void }): Promise<RedisConnections> {
  const log = opts.log ?? (() => {});
  const open = (role: string) => openRedis(role, { ...opts, log, lazyConnect: true });
  const commands = open('commands');
  const subscriber = open('subscriber');
  const connect = async (client: Redis) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer from ${describeRedisUrl(opts.url)} in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await Promise.all([connect(commands), connect(subscriber)]);
  } catch (err) {
    commands.disconnect();
    subscriber.disconnect();
    throw err;
  }
  let closed = false;
  return {
    commands,
    subscriber,
    prefix: opts.prefix,
    nodeId: opts.nodeId,
    connector: redisConnector({ ...opts, log }),
    key: (...parts) => [opts.prefix, ...parts].join(':'),
    async ping() {
      // The offline queue would hold a PING until Redis is back; readiness wants an answer now.
      if (commands.status !== 'ready') throw new Error(`not connected (${commands.status})`);
      await commands.ping();
    },
    async close() {
      if (closed) return;
      closed = true;
      // QUIT lets replies in flight arrive; a Redis that is down gets a plain disconnect.
      await Promise.all([commands, subscriber].map((c) => (c.status === 'ready' ? c.quit().then(() => undefined, () => c.disconnect()) : c.disconnect())));
    },
  };
}

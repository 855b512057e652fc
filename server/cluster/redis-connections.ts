/**
 * The Redis connections of one process: one for commands (and publishing), one subscriber (a connection in
 * subscribe mode can run nothing else), and more on demand for blocking reads (the Socket.IO streams adapter
 * duplicates its own). Every key and channel starts with the deployment's prefix.
 */
import { Redis } from 'ioredis';
import { describeRedisUrl } from './redis-url.js';

export interface RedisConnections {
  /** Commands and PUBLISH. */
  readonly commands: Redis;
  /** SUBSCRIBE only. */
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly nodeId: string;
  /** `prefix:part:part...` */
  key(...parts: string[]): string;
  /** PING on the command connection (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long the first connection may take before start-up fails (a wrong REDIS_URL should not hang a node). */
const CONNECT_TIMEOUT_MS = 10_000;

export async function connectRedis(opts: { url: string; prefix: string; nodeId: string; log?: (line: string) => void }): Promise<RedisConnections> {
  const log = opts.log ?? (() => {});
  const open = (role: string) => {
    const client = new Redis(opts.url, {
      connectionName: `${opts.prefix}:${opts.nodeId}:${role}`,
      // Reconnect for good, backing off to 2 s: a Redis restart must not end the node (readiness reports it).
      retryStrategy: (times) => Math.min(100 * times, 2000),
      lazyConnect: true,
    });
    let down = false;
    client.on('error', (err) => {
      if (!down) log(`[redis] ${role} connection to ${describeRedisUrl(opts.url)} failed: ${err.message}; retrying`);
      down = true;
    });
    client.on('ready', () => {
      if (down) log(`[redis] ${role} connection is back`);
      down = false;
    });
    return client;
  };
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

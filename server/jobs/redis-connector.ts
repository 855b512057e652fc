/**
 * How the cluster parts of runs and jobs get Redis connections: a key prefix and a way to open a client.
 * Each part opens its own clients, because a subscriber connection cannot send commands and BullMQ's
 * blocking reads hold theirs. The cluster's connection module can supply one of these in place of
 * `redisConnector` (same shape), so every part shares its settings.
 */
import { Redis } from 'ioredis';

export interface RedisConnector {
  /** Prefix of every key and channel (STABLEDRAG_REDIS_PREFIX), so several studios can share one Redis. */
  readonly prefix: string;
  /** A new client; the caller quits it. */
  connect(name: string): Redis;
}

export function redisConnector(url: string, prefix = 'stabledrag'): RedisConnector {
  return {
    prefix,
    // BullMQ requires maxRetriesPerRequest null (its blocking commands must wait out a reconnect, not fail).
    connect: (name) => {
      const client = new Redis(url, { connectionName: `${prefix}:${name}`, maxRetriesPerRequest: null, enableReadyCheck: true });
      // Without a listener ioredis reports each failed reconnect as an unhandled error; it keeps reconnecting either way.
      client.on('error', (err: Error) => console.warn(`[redis] ${name}: ${err.message}`));
      return client;
    },
  };
}

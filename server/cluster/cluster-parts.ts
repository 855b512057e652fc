/**
 * The web node's cluster parts, wired by startStudioServer's `cluster` option: Redis connections, the
 * Socket.IO Redis streams adapter, the Yjs relay with node liveness, shared document storage under a Redis
 * lock, and Redis in readiness.
 *
 * Socket.IO goes through the streams adapter rather than the pub/sub one: the studio uses connection-state
 * recovery (a client that drops keeps its session for 2 minutes), and only the streams adapter keeps
 * sessions and missed packets in Redis, so a client whose node died recovers its session on another node;
 * its XREAD loop also resumes from the last offset after a short Redis outage instead of losing what was
 * published meanwhile.
 */
import type { ServerOptions as IOServerOptions } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { DocServerHooks } from '../yjs/doc-server.js';
import type { SharedDocuments } from '../rooms/room-doc-hooks.js';
import type { ClusterConfig } from './cluster-config.js';
import { connectRedis, type RedisConnections } from './redis-connections.js';
import { Channels } from './channels.js';
import { NodeLiveness, type NodeLivenessOptions } from './node-liveness.js';
import { isPeerOrigin, YjsRelay } from './yjs-relay.js';
import { withRedisLock } from './redis-lock.js';

export interface ClusterParts {
  readonly nodeId: string;
  /** On shutdown, readiness fails this long before the node stops accepting connections (STABLEDRAG_DRAIN_SECONDS). */
  readonly drainDelayMs: number;
  readonly redis: RedisConnections;
  readonly socketAdapter: NonNullable<IOServerOptions['adapter']>;
  readonly yjsHooks: DocServerHooks[];
  readonly sharedDocuments: SharedDocuments;
  readonly relay: YjsRelay;
  readonly liveness: NodeLiveness;
  /** Rejects when Redis does not answer (readiness). */
  ping(): Promise<void>;
  /** Says goodbye to the other nodes and closes the Redis connections; after the server closed. */
  close(): Promise<void>;
}

export interface ClusterOptions {
  liveness?: NodeLivenessOptions;
  log?: (line: string) => void;
}

export async function startCluster(config: ClusterConfig, opts: ClusterOptions = {}): Promise<ClusterParts> {
  const redis = await connectRedis({ url: config.redisUrl, prefix: config.prefix, nodeId: config.nodeId, log: opts.log });
  try {
    const channels = new Channels(redis.subscriber);
    const liveness = new NodeLiveness(redis.commands, channels, redis.key('nodes'), redis.nodeId, opts.liveness);
    await liveness.start();
    const relay = new YjsRelay(redis, channels, liveness);
    const socketAdapter = createAdapter(redis.commands, {
      streamName: redis.key('socket.io'),
      channelPrefix: redis.key('socket.io'),
      sessionKeyPrefix: redis.key('socket.io-session') + ':',
    });
    let closed = false;
    return {
      nodeId: redis.nodeId,
      drainDelayMs: config.drainDelayMs ?? 0,
      redis,
      socketAdapter,
      yjsHooks: [relay.hooks()],
      sharedDocuments: {
        isPeerUpdate: isPeerOrigin,
        exclusive: (roomId, fn) => withRedisLock(redis.commands, redis.key('doc-store-lock', roomId), fn),
      },
      relay,
      liveness,
      ping: () => redis.ping(),
      async close() {
        if (closed) return;
        closed = true;
        await liveness.stop();
        await redis.close();
      },
    };
  } catch (err) {
    await redis.close();
    throw err;
  }
}

/**
 * The cluster's settings from the environment, read only when REDIS_URL is set (server/config.ts parses it):
 *   STABLEDRAG_REDIS_PREFIX (default "stabledrag"): the start of every Redis key and channel of this
 *     deployment, so two deployments (staging, production) can share one Redis without hearing each other;
 *   STABLEDRAG_NODE_ID (default: host name, pid and a random suffix): this process in logs, connection names
 *     and relays (a fixed id, such as a pod name, may be reused by the next process: parts that must tell
 *     two lives of a node apart, the run queue and job replies, add a suffix of their own per start);
 *   STABLEDRAG_DRAIN_SECONDS (default 0, at most 300): on SIGTERM, how long the node keeps serving while its
 *     readiness already fails, so a load balancer that probes readiness stops sending it clients first.
 * A cluster needs PostgreSQL: a SQLite file lives on one machine and cannot be shared by nodes.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../db/database.js';

export interface ClusterConfig {
  redisUrl: string;
  prefix: string;
  nodeId: string;
  /** Readiness fails this long before the node stops accepting connections on shutdown. */
  drainDelayMs?: number;
}

export const DEFAULT_REDIS_PREFIX = 'stabledrag';

/** Letters, digits and `_.:-`: a prefix ends up in key names, channel names and log lines. */
const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function readClusterConfig(redisUrl: string, database: Database | undefined, env: Record<string, string | undefined> = process.env): ClusterConfig {
  if (database?.provider !== 'postgresql') {
    throw new Error(
      'REDIS_URL is set (cluster mode) but DATABASE_URL is not a postgres:// URL: every node must use the same PostgreSQL database ' +
        '(a SQLite file cannot be shared between machines). Set DATABASE_URL, or unset REDIS_URL to run as one process.',
    );
  }
  const { prefix, nodeId } = readRedisIdentity(env);
  const drain = env.STABLEDRAG_DRAIN_SECONDS?.trim() || '0';
  const drainSeconds = Number(drain);
  if (!/^\d+(\.\d+)?$/.test(drain) || drainSeconds > 300) throw new Error(`STABLEDRAG_DRAIN_SECONDS: '${drain.slice(0, 40)}' must be a number of seconds from 0 to 300`);
  return { redisUrl, prefix, nodeId, drainDelayMs: drainSeconds * 1000 };
}

/**
 * STABLEDRAG_REDIS_PREFIX and STABLEDRAG_NODE_ID, read the same way by web nodes and `npm run worker`: a worker
 * with another prefix would wait on queues no web node fills.
 */
export function readRedisIdentity(env: Record<string, string | undefined> = process.env): { prefix: string; nodeId: string } {
  const prefix = env.STABLEDRAG_REDIS_PREFIX?.trim() || DEFAULT_REDIS_PREFIX;
  if (!NAME.test(prefix)) throw new Error(`STABLEDRAG_REDIS_PREFIX: '${prefix.slice(0, 80)}' must be 1-64 letters, digits or _.:-`);
  const nodeId = env.STABLEDRAG_NODE_ID?.trim() || defaultNodeId();
  if (!NAME.test(nodeId)) throw new Error(`STABLEDRAG_NODE_ID: '${nodeId.slice(0, 80)}' must be 1-64 letters, digits or _.:-`);
  return { prefix, nodeId };
}

/** Unique even for two processes that share a host name and, in containers, a pid. */
export function defaultNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Which web nodes are alive: each publishes a heartbeat on the deployment's nodes channel, and says goodbye
 * when it stops. A node not heard from for `missedBeats` heartbeats is taken for dead (killed, cut off), so
 * the presence of its clients can be removed at once rather than after Yjs awareness's 30 s timeout.
 *
 * The run queue keeps a heartbeat of its own, a key per node start that expires in Redis
 * (runs/redis-run-queue.ts): these beats live only in the memory of the nodes hearing them, which suits fast
 * presence cleanup, whereas a dead node's runs must be found even by a node that starts after every other
 * one stopped, which only state kept in Redis allows.
 */
import type { Redis } from 'ioredis';
import type { Channels } from './channels.js';

export interface NodeLivenessOptions {
  /** Default 2000 ms. */
  heartbeatMs?: number;
  /** Default 3. */
  missedBeats?: number;
}

const ALIVE = 'alive';
const GONE = 'gone';

export class NodeLiveness {
  private readonly lastSeen = new Map<string, number>();
  private readonly goneHandlers = new Set<(nodeId: string) => void>();
  private timer?: NodeJS.Timeout;
  private readonly heartbeatMs: number;
  private readonly missedBeats: number;

  constructor(
    private readonly redis: Redis,
    private readonly channels: Channels,
    private readonly channel: string,
    private readonly nodeId: string,
    opts: NodeLivenessOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 2000;
    this.missedBeats = opts.missedBeats ?? 3;
  }

  async start(): Promise<void> {
    await this.channels.subscribe(this.channel, (message) => this.onMessage(message.toString()));
    this.beat();
    this.timer = setInterval(() => {
      this.beat();
      this.sweep();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Runs with the id of each node found dead or announced gone. */
  onGone(fn: (nodeId: string) => void): void {
    this.goneHandlers.add(fn);
  }

  /** The nodes heard from lately (not this one). */
  peers(): string[] {
    return [...this.lastSeen.keys()];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.channels.unsubscribe(this.channel);
    if (this.redis.status === 'ready') await this.redis.publish(this.channel, `${GONE} ${this.nodeId}`).catch(() => {});
  }

  private beat(): void {
    // The offline queue would deliver stale heartbeats after an outage; a beat missed is simply missed.
    if (this.redis.status === 'ready') this.redis.publish(this.channel, `${ALIVE} ${this.nodeId}`).catch(() => {});
  }

  private onMessage(text: string): void {
    const [kind, nodeId] = text.split(' ');
    if (!nodeId || nodeId === this.nodeId) return;
    if (kind === ALIVE) this.lastSeen.set(nodeId, Date.now());
    else if (kind === GONE && this.lastSeen.delete(nodeId)) this.goneHandlers.forEach((fn) => fn(nodeId));
  }

  private sweep(): void {
    // While this node cannot hear Redis, silence says nothing about the others.
    if (this.redis.status !== 'ready') return;
    const limit = Date.now() - this.heartbeatMs * this.missedBeats;
    for (const [nodeId, seen] of this.lastSeen) {
      if (seen >= limit) continue;
      this.lastSeen.delete(nodeId);
      this.goneHandlers.forEach((fn) => fn(nodeId));
    }
  }
}

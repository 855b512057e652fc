/**
 * RunQueue across the web nodes of a cluster, on Redis (the scripts and key layout: redis-run-scripts.ts). Each
 * room's runs form one list in start order whichever node queued them; the per-room, per-person and server-wide
 * limits are counted there. A run's turn is taken by the node that queued it (it holds the run's owner and
 * listeners) once the run reaches the head of its room: every change is announced on one channel, and each node
 * then claims the heads that are its own. Jobs wait for workers in BullMQ, not here: a room's turn goes to its
 * next run at once.
 *
 * Every node keeps the newest state of each busy room (refreshed on each announcement), so state() and busy()
 * answer at once and each node sends queue states to its own sockets. A node's heartbeat key expires when it
 * dies; the others then drop its runs, and end a run it was running as interrupted in the store, so a dead node
 * never blocks a room.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RunInfo, RunQueueState } from '../../contract/events.js';
import { RoomError } from '../rooms/room-service.js';
import type { ServerLimits } from '../limits.js';
import type { RedisConnector } from '../cluster/redis-connections.js';
import type { QueuedRun, RunQueue, RunQueueEvents } from './run-queue.js';
import { CANCEL, CLAIM, ENQUEUE, FINISH, SNAPSHOT, SWEEP, UPDATE } from './redis-run-scripts.js';

export interface RedisRunQueueOptions {
  redis: RedisConnector;
  limits: Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runsPerAddress' | 'runsWaiting'>;
  /** When a place is likely to free up, in whole seconds (the 'busy' answer's retry time). */
  retryAfterSeconds: () => number;
  /** Ends the record of a run whose node died while running it (its steps stay) as `interrupted`; resolves with
   *  its steps, or undefined when it had already ended. */
  interrupted: (runId: string) => Promise<number | undefined>;
  /**
   * The runs the store has as running. Read once, a node timeout after start: those in no room list while no
   * other web node is alive were left by a cluster that stopped with its Redis emptied (restarted without
   * persistence), where no heartbeat key is left to expire, and are ended as `interrupted`.
   */
  unfinishedRuns?: () => Promise<string[]>;
  /** A node is deemed dead this long after its last heartbeat (sent every third of it). Default 15 s. */
  nodeTimeoutMs?: number;
  /** This node's id in the queue (default: a random one); unique to this start of the process. */
  node?: string;
  log?: (line: string) => void;
}

type Announcement = { type: 'changed'; roomId: string } | { type: 'cancel'; roomId: string; dropped: string[]; running: string[] };

const EMPTY = (roomId: string): RunQueueState => ({ roomId, version: 0, current: null, queued: [] });

export class RedisRunQueue implements RunQueue {
  readonly node: string;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  /** This node's runs (queued or running), by id. */
  private readonly local = new Map<string, QueuedRun>();
  /** Each busy room's newest state as Redis had it. */
  private readonly snapshots = new Map<string, RunQueueState>();
  private readonly turns = new Set<Promise<void>>();
  /** This node's runs whose turn has begun. */
  private readonly taken = new WeakSet<QueuedRun>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly log: (line: string) => void;
  /** Resolves once this node is subscribed, alive in Redis and has every busy room's state. */
  readonly ready: Promise<void>;
  private closed = false;

  constructor(private readonly opts: RedisRunQueueOptions, private readonly events: RunQueueEvents) {
    this.node = opts.node ?? randomUUID();
    this.prefix = `${opts.redis.prefix}:runs`;
    this.channel = `${this.prefix}:events`;
    this.log = opts.log ?? ((line) => console.warn(line));
    this.commands = opts.redis.connect('runs');
    this.subscriber = opts.redis.connect('run-events');
    this.subscriber.on('message', (_channel: string, message: string) => this.onAnnouncement(message));
    const timeout = opts.nodeTimeoutMs ?? 15_000;
    this.ready = this.start(timeout);
    this.ready.catch((err) => this.log(`[runs] the cluster run queue could not start: ${(err as Error).message}`));
    this.every(timeout / 3, () => this.heartbeat(timeout));
    this.every(timeout, () => this.sweep());
    // After a node timeout, live nodes have renewed their heartbeat keys even in a Redis that was emptied.
    const orphans = setTimeout(() => {
      if (!this.closed) this.endOrphans().catch((err) => this.log(`[runs] looking for runs no node holds failed: ${(err as Error).message}`));
    }, timeout);
    orphans.unref();
    this.timers.push(orphans);
  }

  private async start(timeoutMs: number): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    await this.heartbeat(timeoutMs);
    for (const roomId of await this.commands.smembers(`${this.prefix}:rooms`)) await this.refresh(roomId);
  }

  async enqueue(run: QueuedRun): Promise<number> {
    await this.ready;
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    const { queuedRunsPerRoom, runsPerUser, runsPerAddress, runsWaiting } = this.opts.limits;
    const res = (await this.script(ENQUEUE, run.roomId, run.info.runId, this.node, run.owner?.connection ?? '', run.owner?.address ?? '',
      JSON.stringify(run.info), queuedRunsPerRoom, runsPerUser, runsPerAddress, runsWaiting)) as string[];
    if (res[0] === 'limit-room') throw new RoomError('limit', `this room already has ${queuedRunsPerRoom} runs waiting`);
    if (res[0] === 'limit-user') throw new RoomError('limit', `you already have ${runsPerUser} runs waiting or running`);
    if (res[0] === 'limit-address') throw new RoomError('limit', `your network address already has ${runsPerAddress} runs waiting or running`);
    if (res[0] === 'busy') {
      const wait = this.opts.retryAfterSeconds();
      throw new RoomError('busy', `the server has ${runsWaiting} runs waiting; try again in ${wait} s`, wait);
    }
    this.local.set(run.info.runId, run);
    await this.announce({ type: 'changed', roomId: run.roomId });
    return Number(res[1]);
  }

  async cancel(roomId: string): Promise<number> {
    await this.ready;
    const [dropped, running] = (await this.script(CANCEL, roomId)) as [string[], string[]];
    const announcement: Announcement = { type: 'cancel', roomId, dropped, running };
    // Here at once (the answer to Stop comes after its effect on this node); elsewhere through the channel.
    this.onCancel(announcement);
    await this.announce(announcement);
    return dropped.length + running.length;
  }

  runChanged(run: QueuedRun): void {
    this.script(UPDATE, run.info.runId, JSON.stringify(run.info))
      .then(() => this.announce({ type: 'changed', roomId: run.roomId }))
      .catch((err) => this.log(`[runs] ${run.roomId}: the run's state could not be shared: ${(err as Error).message}`));
  }

  state(roomId: string): RunQueueState {
    const snap = this.snapshots.get(roomId) ?? EMPTY(roomId);
    // This node's own runs are current here (their step counts change without an announcement).
    const fresh = (info: RunInfo): RunInfo => {
      const mine = this.local.get(info.runId);
      return mine && info.state === 'running' ? { ...mine.info, position: info.position } : info;
    };
    return { ...snap, current: snap.current && fresh(snap.current), queued: snap.queued.map((i) => ({ ...i })) };
  }

  busy(roomId: string): boolean {
    if ((this.snapshots.get(roomId)?.current ?? null) !== null) return true;
    for (const run of this.local.values()) if (run.roomId === roomId) return true;
    return false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.ready.catch(() => undefined);
    const rooms = new Set<string>();
    for (const run of this.local.values()) {
      rooms.add(run.roomId);
      run.cancelled = true;
      if (run.cancelJob) run.cancelJob();
      else if (!this.taken.has(run)) {
        // Not begun: it leaves the queue with this node (its owner's connection is here and goes too).
        this.local.delete(run.info.runId);
        await this.script(FINISH, run.info.runId).catch(() => undefined);
      }
    }
    await Promise.allSettled([...this.turns]);
    for (const roomId of rooms) await this.announce({ type: 'changed', roomId }).catch(() => undefined);
    await this.commands.del(`${this.prefix}:node:${this.node}`).catch(() => undefined);
    await Promise.allSettled([this.subscriber.quit(), this.commands.quit()]);
  }

  private onAnnouncement(message: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(message) as Announcement;
      if (typeof a?.roomId !== 'string') throw new Error('no room');
    } catch {
      this.log('[runs] ignored a malformed run queue announcement');
      return;
    }
    if (a.type === 'cancel') this.onCancel(a);
    void this.refresh(a.roomId);
    void this.claim(a.roomId);
  }

  private onCancel({ dropped, running }: Extract<Announcement, { type: 'cancel' }>): void {
    for (const id of [...(dropped ?? []), ...(running ?? [])]) {
      const run = this.local.get(id);
      if (!run || run.cancelled) continue;
      run.cancelled = true;
      run.cancelJob?.();
      if (dropped?.includes(id)) this.local.delete(id);
    }
  }

  /** Takes the room's turn when its head run is this node's. */
  private async claim(roomId: string): Promise<void> {
    if (this.closed || ![...this.local.values()].some((r) => r.roomId === roomId && !this.taken.has(r))) return;
    let runId: string | null;
    try {
      runId = (await this.script(CLAIM, roomId, this.node)) as string | null;
    } catch (err) {
      this.log(`[runs] ${roomId}: claiming the room's turn failed: ${(err as Error).message}`);
      return;
    }
    if (!runId) return;
    const run = this.local.get(runId);
    if (!run || this.taken.has(run)) {
      // Nobody here can run it (its node lost it): out of the way of the room's next run.
      await this.finish(roomId, runId);
      return;
    }
    this.taken.add(run);
    const turn = Promise.resolve()
      .then(() => this.events.turn(run, () => {}))
      .catch((err) => this.log(`[runs] ${roomId}/${runId} failed: ${(err as Error)?.message ?? err}`))
      .finally(async () => {
        this.turns.delete(turn);
        this.local.delete(runId);
        await this.finish(roomId, runId);
      });
    this.turns.add(turn);
  }

  private async finish(roomId: string, runId: string): Promise<void> {
    try {
      await this.script(FINISH, runId);
      await this.announce({ type: 'changed', roomId });
    } catch (err) {
      // Left in Redis, the run would hold its room until this node's heartbeat stops: said loudly.
      this.log(`[runs] ${roomId}/${runId}: could not leave the queue: ${(err as Error).message}`);
    }
  }

  /** Reads the room's state from Redis; keeps it (and tells this node's participants) if newer than the one held. */
  private async refresh(roomId: string): Promise<void> {
    let raw: unknown[];
    try {
      raw = (await this.script(SNAPSHOT, roomId)) as unknown[];
    } catch (err) {
      this.log(`[runs] ${roomId}: the queue state could not be read: ${(err as Error).message}`);
      return;
    }
    const version = Number(raw[0]);
    if ((this.snapshots.get(roomId)?.version ?? 0) > version) return;
    const runs: RunInfo[] = [];
    const started: boolean[] = [];
    for (let i = 1; i + 2 < raw.length; i += 3) {
      try {
        runs.push(JSON.parse(String(raw[i + 1])) as RunInfo);
        started.push(raw[i + 2] === '1');
      } catch {
        this.log(`[runs] ${roomId}: ignored a run with an unreadable state`);
      }
    }
    const state = toState(roomId, version, runs, started);
    if (state.current) this.snapshots.set(roomId, state);
    else this.snapshots.delete(roomId);
    this.events.changed(roomId);
  }

  private async sweep(): Promise<void> {
    let raw: string[];
    try {
      raw = (await this.script(SWEEP)) as string[];
    } catch (err) {
      this.log(`[runs] looking for runs of stopped nodes failed: ${(err as Error).message}`);
      return;
    }
    const rooms = new Set<string>();
    for (let i = 0; i + 2 < raw.length; i += 3) {
      const [roomId, runId, started] = [raw[i], raw[i + 1], raw[i + 2]];
      rooms.add(roomId);
      this.log(`[runs] ${roomId}/${runId}: its web node stopped; dropped from the queue`);
      if (started !== '1') continue;
      try {
        const steps = await this.opts.interrupted(runId);
        if (steps !== undefined) this.events.lost?.(roomId, runId, steps);
      } catch (err) {
        this.log(`[runs] ${runId}: could not be marked interrupted: ${(err as Error).message}`);
      }
    }
    for (const roomId of rooms) await this.announce({ type: 'changed', roomId }).catch(() => undefined);
  }

  /** Ends the store's running runs that no queue holds, when no other web node is alive to hold them. */
  private async endOrphans(): Promise<void> {
    const ids = (await this.opts.unfinishedRuns?.()) ?? [];
    if (ids.length === 0) return;
    // Read after the store: a run that was running then and is in no list now either ended meanwhile
    // (`interrupted` re-reads the store and leaves it) or is held by nobody.
    for await (const keys of this.commands.scanStream({ match: `${this.prefix}:node:*`, count: 1000 })) {
      if ((keys as string[]).some((k) => k !== `${this.prefix}:node:${this.node}`)) return;
    }
    for (const runId of ids) {
      if (await this.commands.exists(`${this.prefix}:run:${runId}`)) continue;
      const steps = await this.opts.interrupted(runId);
      if (steps !== undefined) this.log(`[runs] ${runId}: running in the store, held by no web node (the cluster stopped); ended interrupted with ${steps} step(s)`);
    }
  }

  private async heartbeat(timeoutMs: number): Promise<void> {
    await this.commands.set(`${this.prefix}:node:${this.node}`, '1', 'PX', Math.round(timeoutMs));
  }

  private every(ms: number, work: () => Promise<void>): void {
    const t = setInterval(() => {
      if (!this.closed) work().catch((err) => this.log(`[runs] ${(err as Error).message}`));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private announce(a: Announcement): Promise<number> {
    return this.commands.publish(this.channel, JSON.stringify(a));
  }

  private script(lua: string, ...args: (string | number)[]): Promise<unknown> {
    return this.commands.eval(lua, 0, this.prefix, ...args);
  }
}

/** The room's state as participants see it: the head run (queued until its turn begins), then the rest in order. */
function toState(roomId: string, version: number, runs: RunInfo[], started: boolean[]): RunQueueState {
  if (runs.length === 0) return { roomId, version, current: null, queued: [] };
  const current: RunInfo = started[0] ? { ...runs[0] } : { ...runs[0], state: 'queued', position: 1 };
  const base = current.position > 0 ? current.position : 0;
  return { roomId, version, current, queued: runs.slice(1).map((info, i) => ({ ...info, state: 'queued', position: base + i + 1 })) };
}

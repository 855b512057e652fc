/**
 * RunQueue in this process. Waiting runs live here only: a run is handed to the worker pool once a worker is
 * free for it (`slots`), so the pool's own drag queue stays empty and positions here are the real ones. Rooms
 * whose next run waits for a worker line up in `ready`, in the order their turn came (a room whose run ends goes
 * to the back), which is what makes the queue fair across rooms.
 */
import type { RunQueueState } from '../../contract/events.js';
import { RoomError } from '../rooms/room-service.js';
import type { ServerLimits } from '../limits.js';
import type { QueuedRun, RunOwner, RunQueue, RunQueueEvents } from './run-queue.js';

export interface LocalRunQueueOptions {
  limits: Pick<ServerLimits, 'queuedRunsPerRoom' | 'runsPerUser' | 'runsPerAddress' | 'runsWaiting'>;
  /** How many runs may be on workers at once (the pool's size); Infinity leaves the waiting to the job queue. */
  slots: () => number;
  /** When a place is likely to free up, in whole seconds (the 'busy' answer's retry time). */
  retryAfterSeconds: () => number;
}

interface RoomLine {
  /** The room's run on a worker (or being set up for one). */
  current?: QueuedRun;
  /** Runs not yet given a worker, oldest first. */
  waiting: QueuedRun[];
}

export class LocalRunQueue implements RunQueue {
  private readonly rooms = new Map<string, RoomLine>();
  /** Rooms with no current run and a run waiting for a worker, in turn order. */
  private ready: string[] = [];
  private slotsTaken = 0;
  private readonly turns = new Set<Promise<void>>();
  private closed = false;
  /** RunQueueState.version: one counter for all rooms is enough to order any room's states. */
  private stateVersion = 0;

  constructor(private readonly opts: LocalRunQueueOptions, private readonly events: RunQueueEvents) {}

  enqueue(run: QueuedRun): number {
    if (this.closed) throw new RoomError('internal', 'server is shutting down');
    const { queuedRunsPerRoom, runsPerUser, runsPerAddress, runsWaiting } = this.opts.limits;
    const line = this.rooms.get(run.roomId) ?? { waiting: [] };
    const hasTurnHolder = !!line.current || line.waiting.length > 0;
    if (behindTurn(line) >= queuedRunsPerRoom) throw new RoomError('limit', `this room already has ${queuedRunsPerRoom} runs waiting`);
    const { owner } = run;
    if (owner && this.runsOf((o) => o.connection === owner.connection) >= runsPerUser) throw new RoomError('limit', `you already have ${runsPerUser} runs waiting or running`);
    if (owner && this.runsOf((o) => o.address === owner.address) >= runsPerAddress) throw new RoomError('limit', `your network address already has ${runsPerAddress} runs waiting or running`);
    if (this.waitingRuns() >= runsWaiting) {
      const wait = this.opts.retryAfterSeconds();
      throw new RoomError('busy', `the server has ${runsWaiting} runs waiting; try again in ${wait} s`, wait);
    }
    this.rooms.set(run.roomId, line);
    line.waiting.push(run);
    if (!line.current && line.waiting.length === 1) this.ready.push(run.roomId);
    const position = hasTurnHolder ? behindTurn(line) : 0;
    this.pump();
    this.events.changed(run.roomId);
    return position;
  }

  cancel(roomId: string): number {
    const line = this.rooms.get(roomId);
    if (!line) return 0;
    let n = line.waiting.length;
    for (const run of line.waiting) run.cancelled = true;
    line.waiting = [];
    this.ready = this.ready.filter((id) => id !== roomId);
    if (line.current && !line.current.cancelled) {
      line.current.cancelled = true;
      line.current.cancelJob?.();
      n++;
    }
    if (!line.current) this.rooms.delete(roomId);
    this.events.changed(roomId);
    return n;
  }

  runChanged(run: QueuedRun): void {
    this.events.changed(run.roomId);
  }

  state(roomId: string): RunQueueState {
    const line = this.rooms.get(roomId);
    const holder = line?.current ?? line?.waiting[0];
    const current = holder ? { ...holder.info } : null;
    if (current && !line?.current) {
      // Its room's turn, waiting for a worker behind the rooms ahead of it.
      current.state = 'queued';
      current.position = this.ready.indexOf(roomId) + 1;
    }
    const behind = line ? (line.current ? line.waiting : line.waiting.slice(1)) : [];
    const base = current && current.position > 0 ? current.position : 0;
    return {
      roomId,
      version: ++this.stateVersion,
      current,
      queued: behind.map((run, i) => ({ ...run.info, position: base + i + 1 })),
    };
  }

  busy(roomId: string): boolean {
    const line = this.rooms.get(roomId);
    return !!line && (!!line.current || line.waiting.length > 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const roomId of [...this.rooms.keys()]) this.cancel(roomId);
    await Promise.allSettled([...this.turns]);
  }

  /** Gives free workers to the rooms whose turn it is, in order. */
  private pump(): void {
    while (!this.closed && this.ready.length > 0 && this.slotsTaken < this.opts.slots()) {
      const roomId = this.ready.shift()!;
      const line = this.rooms.get(roomId)!;
      const run = line.waiting.shift()!;
      line.current = run;
      this.slotsTaken++;
      let freed = false;
      const workerFree = () => {
        if (freed) return;
        freed = true;
        this.slotsTaken--;
        this.pump();
      };
      const turn = Promise.resolve()
        .then(() => this.events.turn(run, workerFree))
        .catch((err) => console.error(`[runs] ${roomId}/${run.info.runId} failed:`, err))
        .finally(() => {
          this.turns.delete(turn);
          line.current = undefined;
          if (line.waiting.length > 0) this.ready.push(roomId);
          else this.rooms.delete(roomId);
          workerFree();
          this.pump();
          this.events.changed(roomId);
        });
      this.turns.add(turn);
      this.events.changed(roomId);
    }
  }

  /** Runs waiting or running, in every room, whose owner matches. */
  private runsOf(match: (owner: RunOwner) => boolean): number {
    let n = 0;
    for (const line of this.rooms.values()) for (const run of [line.current, ...line.waiting]) if (run?.owner && !run.cancelled && match(run.owner)) n++;
    return n;
  }

  /** Runs not yet on a worker: waiting, or their room's turn but still being set up. */
  private waitingRuns(): number {
    let n = 0;
    for (const line of this.rooms.values()) n += line.waiting.length + (line.current && line.current.info.state === 'queued' ? 1 : 0);
    return n;
  }
}

/** The room's runs behind the one whose turn it is. */
function behindTurn(line: RoomLine): number {
  return line.current ? line.waiting.length : Math.max(0, line.waiting.length - 1);
}

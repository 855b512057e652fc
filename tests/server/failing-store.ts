/**
 * A store that fails on demand: the real store (PrismaRoomStore on a real SQLite file) behind a proxy whose
 * chosen methods reject while they are switched on, as a database that is down, full or locked would.
 */
import type { RoomStore } from '../../server/rooms/room-store.js';

type Method = keyof RoomStore;

interface Fault {
  /** Calls to let through before failing. */
  after: number;
  /** Calls to fail, then the fault is gone (Infinity: until `heal`). */
  times: number;
}

export class StoreFaults {
  private readonly faults = new Map<Method, Fault>();
  /** Per method: calls that reached the real store, and calls failed here. */
  readonly passed = new Map<Method, number>();
  readonly failed = new Map<Method, number>();

  /** Makes `method` reject, after `after` more successful calls, `times` times (default: until healed). */
  fail(method: Method, opts: { after?: number; times?: number } = {}): void {
    this.faults.set(method, { after: opts.after ?? 0, times: opts.times ?? Infinity });
  }

  heal(method?: Method): void {
    if (method) this.faults.delete(method);
    else this.faults.clear();
  }

  count(method: Method, outcome: 'passed' | 'failed' = 'passed'): number {
    return this[outcome].get(method) ?? 0;
  }

  /** For `startTestServer(file, { wrapStore: faults.wrap })`. */
  readonly wrap = (real: RoomStore): RoomStore =>
    new Proxy(real, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const method = prop as Method;
        return (...args: unknown[]) => {
          const fault = this.faults.get(method);
          if (fault && fault.after > 0) fault.after--;
          else if (fault && fault.times > 0) {
            fault.times--;
            this.failed.set(method, this.count(method, 'failed') + 1);
            return Promise.reject(new Error(`disk I/O error (test fault in ${String(method)})`));
          }
          this.passed.set(method, this.count(method) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

/**
 * Per-client flow control for run frames: at most one frame in flight per socket. While the client has not
 * acknowledged it, newer frames replace the pending one, so a slow client skips intermediate steps instead
 * of building a backlog, and the newest frame (in the end, the final one) is always delivered.
 *
 * A run's end goes through the same queue, so a client hears `run:ended` only after the run's final frame
 * (a slow client would otherwise see the run end and then its last frame arrive), and a frame of the next
 * run never jumps ahead of the previous run's end.
 */
import type { RunEnded, RunFrame } from '../../contract/events.js';
import type { StudioSocket } from './types.js';

/** A client that neither acknowledges nor disconnects within this long is sent the next frame anyway. */
const ACK_TIMEOUT_MS = 5_000;

type Outgoing = { kind: 'frame'; frame: RunFrame } | { kind: 'ended'; ended: RunEnded };

export class FrameSender {
  private inFlight = false;
  /** Waiting to go, in order; at most one frame between two ends (newer frames replace it). */
  private queue: Outgoing[] = [];
  /** Frames dropped in favour of newer ones (for tests and logs). */
  skipped = 0;

  constructor(private readonly socket: StudioSocket) {}

  push(frame: RunFrame): void {
    const last = this.queue.at(-1);
    if (last?.kind === 'frame') {
      this.skipped++;
      last.frame = frame;
    } else {
      this.queue.push({ kind: 'frame', frame });
    }
    this.flush();
  }

  end(ended: RunEnded): void {
    this.queue.push({ kind: 'ended', ended });
    this.flush();
  }

  private flush(): void {
    while (!this.inFlight && this.queue.length > 0) {
      if (this.socket.disconnected) {
        this.queue = [];
        return;
      }
      const next = this.queue.shift()!;
      if (next.kind === 'ended') {
        this.socket.emit('run:ended', next.ended);
        continue;
      }
      this.inFlight = true;
      this.socket.timeout(ACK_TIMEOUT_MS).emit('run:frame', next.frame, () => {
        this.inFlight = false;
        this.flush();
      });
    }
  }
}

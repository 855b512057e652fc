/**
 * Per-client flow control for run frames: at most one frame in flight per socket. While the client has not
 * acknowledged it, newer frames replace the pending one, so a slow client skips intermediate steps instead
 * of building a backlog, and the newest frame (in the end, the final one) is always delivered.
 */
import type { RunFrame } from '../protocol/events.js';
import type { StudioSocket } from './types.js';

/** A client that neither acknowledges nor disconnects within this long is sent the next frame anyway. */
const ACK_TIMEOUT_MS = 5_000;

export class FrameSender {
  private inFlight = false;
  private pending: RunFrame | undefined;
  /** Frames dropped in favour of newer ones (for tests and logs). */
  skipped = 0;

  constructor(private readonly socket: StudioSocket) {}

  push(frame: RunFrame): void {
    if (this.inFlight) {
      if (this.pending) this.skipped++;
      this.pending = frame;
      return;
    }
    this.send(frame);
  }

  private send(frame: RunFrame): void {
    if (this.socket.disconnected) return;
    this.inFlight = true;
    this.socket.timeout(ACK_TIMEOUT_MS).emit('run:frame', frame, () => {
      this.inFlight = false;
      const next = this.pending;
      this.pending = undefined;
      if (next) this.send(next);
    });
  }
}

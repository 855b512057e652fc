/**
 * Per-connection rate limit on Socket.IO requests (a token bucket per connection). A request over the rate is
 * answered `limit` with the time to wait and goes no further; a connection that sends another whole burst
 * while being refused is not slowing down, so it is disconnected rather than answered forever (answering
 * costs the server too).
 */
import type { ErrorInfo, Result } from '../../contract/events.js';
import { TokenBucket } from '../token-buckets.js';
import type { StudioSocket } from './types.js';

export interface MessageRateLimit {
  perSecond: number;
  burst: number;
}

export function limitMessageRate(socket: StudioSocket, limit: MessageRateLimit): void {
  const bucket = new TokenBucket(limit.perSecond, limit.burst);
  let refusedInARow = 0;
  socket.use((packet, next) => {
    const taken = bucket.take();
    if (taken.ok) {
      refusedInARow = 0;
      return next();
    }
    if (++refusedInARow > limit.burst) {
      socket.disconnect(true);
      return;
    }
    const error: ErrorInfo = {
      code: 'limit',
      message: `more than ${limit.perSecond} requests a second; try again in ${taken.retryAfterSeconds} s`,
      retryAfterSeconds: taken.retryAfterSeconds,
    };
    const ack = packet.at(-1);
    if (typeof ack === 'function') (ack as (r: Result<unknown>) => void)({ ok: false, error });
    else socket.emit('request:error', { event: String(packet[0]).slice(0, 64), error });
  });
}

/**
 * Routes the messages of the one subscriber connection to the handlers of their channels. ioredis subscribes
 * again by itself after a reconnect; `onReconnect` handlers then catch up on what was published meanwhile
 * (Redis pub/sub keeps nothing for a subscriber that was away).
 */
import type { Redis } from 'ioredis';

export type ChannelHandler = (message: Buffer) => void;

export class Channels {
  private readonly handlers = new Map<string, ChannelHandler>();
  private readonly reconnectHandlers = new Set<() => void>();
  private wasReady = false;

  constructor(private readonly subscriber: Redis) {
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const handler = this.handlers.get(channel.toString());
      if (!handler) return;
      try {
        handler(message);
      } catch (err) {
        // A message that cannot be handled must not end the process or stop the others.
        console.error(`[redis] a message on ${channel.toString()} could not be handled:`, err);
      }
    });
    subscriber.on('ready', () => {
      if (this.wasReady) this.reconnectHandlers.forEach((fn) => fn());
      this.wasReady = true;
    });
    this.wasReady = subscriber.status === 'ready';
  }

  /** Resolves once Redis confirmed the subscription, so nothing published after it is missed. */
  async subscribe(channel: string, handler: ChannelHandler): Promise<void> {
    this.handlers.set(channel, handler);
    await this.subscriber.subscribe(channel);
  }

  /** With `handler`: only while it is still the channel's (a newer subscription to it stays). */
  async unsubscribe(channel: string, handler?: ChannelHandler): Promise<void> {
    if (handler && this.handlers.get(channel) !== handler) return;
    if (!this.handlers.delete(channel)) return;
    if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(channel).catch(() => {});
  }

  onReconnect(fn: () => void): void {
    this.reconnectHandlers.add(fn);
  }
}

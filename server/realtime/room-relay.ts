/**
 * RunBroadcaster for a web node of a cluster. A run's frames, end, new image and history changes are produced on
 * the node running its turn; they go to this node's sockets at once and to the other nodes through Redis
 * pub/sub, one channel per room, which a node subscribes to while it holds a socket in that room. Each node
 * then delivers them to its own sockets, through each socket's FrameSender, so flow control stays per client.
 * Queue states are not relayed: every node hears every queue change (redis-run-queue.ts) and sends its sockets
 * the state it reads.
 *
 * Everything a run sends goes through the room's one channel rather than partly through the Socket.IO adapter,
 * so a client hears a run's final frame, its image and its end in the order they were produced, and delivery
 * does not depend on which adapter the node runs.
 */
import type { Redis } from 'ioredis';
import type { EncodedImage, RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import type { RunBroadcaster } from '../runs/run-broadcaster.js';
import type { RedisConnector } from '../cluster/redis-connections.js';
import { decodeWire, encodeWire } from '../jobs/wire-codec.js';
import { SocketBroadcaster } from './socket-broadcaster.js';
import type { StudioIO } from './types.js';

type Relayed =
  | { kind: 'frame'; frame: RunFrame }
  | { kind: 'ended'; ended: RunEnded }
  | { kind: 'image'; roomId: string; image: EncodedImage }
  | { kind: 'history'; roomId: string };

const IO_ROOM_PREFIX = 'room:';

export class RoomRelay implements RunBroadcaster {
  private readonly local: SocketBroadcaster;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channelPrefix: string;
  /** Each room's newest frame heard from another node, for participants who join here mid-run. */
  private readonly relayedFrames = new Map<string, RunFrame>();
  private readonly log: (line: string) => void;

  constructor(private readonly io: StudioIO, redis: RedisConnector, private readonly node: string, opts: { log?: (line: string) => void } = {}) {
    this.log = opts.log ?? ((line) => console.warn(line));
    this.local = new SocketBroadcaster(io, { localOnly: true });
    this.publisher = redis.connect('room-relay');
    this.subscriber = redis.connect('room-relay-sub');
    this.channelPrefix = `${redis.prefix}:room-events:`;
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    // The rooms this node has sockets in, as the adapter keeps them (the in-memory one or the Redis one).
    const adapter = io.of('/').adapter;
    adapter.on('create-room', (room: string) => {
      if (room.startsWith(IO_ROOM_PREFIX)) this.subscriber.subscribe(this.channel(room.slice(IO_ROOM_PREFIX.length))).catch((err: Error) => this.log(`[relay] subscribe: ${err.message}`));
    });
    adapter.on('delete-room', (room: string) => {
      if (!room.startsWith(IO_ROOM_PREFIX)) return;
      const roomId = room.slice(IO_ROOM_PREFIX.length);
      this.relayedFrames.delete(roomId);
      this.subscriber.unsubscribe(this.channel(roomId)).catch((err: Error) => this.log(`[relay] unsubscribe: ${err.message}`));
    });
  }

  /** The newest frame of a run that another node is running in this room (null when none is known). */
  liveFrame(roomId: string): RunFrame | null {
    return this.relayedFrames.get(roomId) ?? null;
  }

  queue(state: RunQueueState): void {
    this.local.queue(state);
  }

  frame(frame: RunFrame): void {
    this.local.frame(frame);
    this.relay(frame.roomId, { kind: 'frame', frame });
  }

  ended(ended: RunEnded): void {
    this.local.ended(ended);
    this.relay(ended.roomId, { kind: 'ended', ended });
  }

  image(roomId: string, image: EncodedImage): void {
    this.local.image(roomId, image);
    this.relay(roomId, { kind: 'image', roomId, image });
  }

  history(roomId: string): void {
    this.local.history(roomId);
    this.relay(roomId, { kind: 'history', roomId });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.subscriber.quit(), this.publisher.quit()]);
  }

  private channel(roomId: string): string {
    return this.channelPrefix + roomId;
  }

  private relay(roomId: string, event: Relayed): void {
    this.publisher.publish(this.channel(roomId), encodeWire({ node: this.node, event })).catch((err: Error) => this.log(`[relay] ${roomId}: ${err.message}`));
  }

  private onMessage(channel: string, message: Buffer): void {
    let event: Relayed;
    try {
      const decoded = decodeWire(message) as { node: string; event: Relayed };
      if (decoded.node === this.node) return;
      event = decoded.event;
    } catch (err) {
      this.log(`[relay] ignored a message on ${channel}: ${(err as Error).message}`);
      return;
    }
    // A throw here would end the subscriber's event handling: one bad event must not stop the others.
    try {
      if (event.kind === 'frame') {
        this.relayedFrames.set(event.frame.roomId, event.frame);
        this.local.frame(event.frame);
      } else if (event.kind === 'ended') {
        this.relayedFrames.delete(event.ended.roomId);
        this.local.ended(event.ended);
      } else if (event.kind === 'image') this.local.image(event.roomId, event.image);
      else if (event.kind === 'history') this.local.history(event.roomId);
    } catch (err) {
      this.log(`[relay] delivering a relayed ${event.kind} failed: ${(err as Error).message}`);
    }
  }
}

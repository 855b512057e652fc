/**
 * RunBroadcaster over Socket.IO. Queue changes and image updates go to the room through the adapter (so a
 * Redis adapter would fan them out across nodes); frames and run ends go to each local socket through its
 * FrameSender, because flow control is per connection and a run's end must follow its final frame. In a
 * cluster it serves only this node's sockets (`localOnly`) and room-relay.ts brings it the other nodes' events.
 */
import type { EncodedImage, RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';
import type { RunBroadcaster } from '../runs/run-broadcaster.js';
import { FrameSender } from './frame-sender.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';

export class SocketBroadcaster implements RunBroadcaster {
  private readonly senders = new WeakMap<StudioSocket, FrameSender>();

  /** With `localOnly`, to-room events reach this node's sockets only, even through a Redis adapter. */
  constructor(private readonly io: StudioIO, private readonly opts: { localOnly?: boolean } = {}) {}

  private toRoom(roomId: string) {
    return this.opts.localOnly ? this.io.local.to(ioRoom(roomId)) : this.io.to(ioRoom(roomId));
  }

  senderFor(socket: StudioSocket): FrameSender {
    let s = this.senders.get(socket);
    if (!s) this.senders.set(socket, (s = new FrameSender(socket)));
    return s;
  }

  queue(state: RunQueueState): void {
    this.toRoom(state.roomId).emit('run:queue', state);
  }

  private localSenders(roomId: string): FrameSender[] {
    const ids = this.io.sockets.adapter.rooms.get(ioRoom(roomId)) ?? [];
    const out: FrameSender[] = [];
    for (const id of ids) {
      const socket = this.io.sockets.sockets.get(id);
      if (socket) out.push(this.senderFor(socket));
    }
    return out;
  }

  frame(frame: RunFrame): void {
    for (const s of this.localSenders(frame.roomId)) s.push(frame);
  }

  ended(ended: RunEnded): void {
    for (const s of this.localSenders(ended.roomId)) s.end(ended);
  }

  image(roomId: string, image: EncodedImage): void {
    this.toRoom(roomId).emit('room:image', { roomId, image });
  }

  history(roomId: string): void {
    this.toRoom(roomId).emit('history:changed', { roomId });
  }
}

/**
 * Link rotation: a room gets a new edit and/or watch token, and everyone holding a replaced one is put out
 * at once, on Socket.IO (`room:revoked`, then out of the room) and on Yjs (close 4403), so a leaked link
 * stops working for the people already using it, not only for newcomers. The editor who rotates keeps their
 * place and receives the new links.
 */
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError } from '../rooms/room-service.js';
import type { DocServer } from '../yjs/doc-server.js';
import { CLOSE_FORBIDDEN } from '../yjs/messages.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';

export async function revokeLinks(
  deps: { io: StudioIO; store: RoomStore; docs: DocServer },
  roomId: string,
  which: 'edit' | 'view' | 'both',
  caller: StudioSocket,
): Promise<{ editToken: string; viewToken: string }> {
  const before = await deps.store.get(roomId);
  if (!before) throw new RoomError('not-found', 'room not found');
  const after = await deps.store.rotateTokens(roomId, which);
  const revoked = new Set([before.editToken, before.viewToken].filter((t) => t !== after.editToken && t !== after.viewToken));
  if (caller.data.token && revoked.has(caller.data.token)) caller.data.token = after.editToken;

  // Sockets on this node. (With a multi-node adapter this would go through serverSideEmit to every node.)
  for (const id of deps.io.sockets.adapter.rooms.get(ioRoom(roomId)) ?? []) {
    const s = deps.io.sockets.sockets.get(id);
    if (!s || s === caller || !s.data.token || !revoked.has(s.data.token)) continue;
    s.emit('room:revoked', { roomId, reason: 'this link was replaced by an editor' });
    void s.leave(ioRoom(roomId));
    s.data.roomId = s.data.role = s.data.token = undefined;
  }
  deps.docs.disconnect(roomId, (context) => revoked.has((context as { token?: string } | undefined)?.token ?? ''), CLOSE_FORBIDDEN, 'link revoked');
  return { editToken: after.editToken, viewToken: after.viewToken };
}

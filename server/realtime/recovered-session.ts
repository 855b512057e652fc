/**
 * Socket.IO's connection-state recovery hands a reconnecting socket back its rooms and `socket.data` (room,
 * role, token) as they were when it dropped. Rights come from the store, not from that memory: the link may
 * have been replaced, or the room removed, while the socket was away. So a recovered session is checked
 * again before any of its requests is served; if its link no longer opens the same room with the same role,
 * it is put out as a rotation would have done (`room:revoked`).
 */
import type { RoomStore } from '../rooms/room-store.js';
import { ioRoom, type StudioSocket } from './types.js';

export const REVOKED_WHILE_AWAY = 'this link was replaced by an editor while you were disconnected';

export async function recheckRecoveredSession(socket: StudioSocket, store: RoomStore): Promise<void> {
  const { roomId, role, token } = socket.data;
  if (!roomId) return;
  const found = token ? await store.findByToken(token) : null;
  // A rotation that swept this socket while the read was in flight already put it out.
  if (socket.data.token !== token || socket.data.roomId !== roomId) return;
  if (found && found.room.id === roomId && found.role === role) return;
  await socket.leave(ioRoom(roomId));
  socket.data.roomId = socket.data.role = socket.data.token = undefined;
  socket.emit('room:revoked', { roomId, reason: REVOKED_WHILE_AWAY });
}

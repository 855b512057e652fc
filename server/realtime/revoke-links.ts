/**
 * Link rotation: a room gets a new edit and/or watch token, and everyone holding a replaced one is put out
 * at once, on Socket.IO (`room:revoked`, then out of the room) and on Yjs (close 4403), so a leaked link
 * stops working for the people already using it, not only for newcomers. The editor who rotates keeps their
 * place and receives the new links. In a cluster every web node puts out its own holders: the node that
 * rotates tells the others through the Socket.IO adapter (serverSideEmit), and a session that recovers on
 * any node afterwards is checked against the store again (recovered-session.ts).
 */
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError } from '../rooms/room-service.js';
import type { DocServer } from '../yjs/doc-server.js';
import { CLOSE_FORBIDDEN } from '../yjs/messages.js';
import type { SocketData } from '../../contract/events.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';

/**
 * The sessions the adapter keeps for recovery. The in-memory adapter holds them in a `sessions` map by
 * private id; an adapter that keeps them elsewhere (Redis) has none here, and recheckRecoveredSession alone
 * guards its sockets (it cannot stop the replay of broadcasts missed while away).
 */
function recoverableSessions(io: StudioIO): Iterable<{ rooms: string[]; data?: SocketData }> {
  const { sessions } = io.of('/').adapter as unknown as { sessions?: Map<string, { rooms: string[]; data?: SocketData }> };
  return sessions instanceof Map ? sessions.values() : [];
}

export async function revokeLinks(
  deps: { io: StudioIO; store: RoomStore; docs: DocServer; acrossNodes?: boolean },
  roomId: string,
  which: 'edit' | 'view' | 'both',
  caller: StudioSocket,
): Promise<{ editToken: string; viewToken: string }> {
  const before = await deps.store.get(roomId);
  if (!before) throw new RoomError('not-found', 'room not found');
  const after = await deps.store.rotateTokens(roomId, which);
  const revoked = new Set([before.editToken, before.viewToken].filter((t) => t !== after.editToken && t !== after.viewToken));
  if (caller.data.token && revoked.has(caller.data.token)) caller.data.token = after.editToken;
  putOutHolders(deps, roomId, revoked, caller);
  // The tokens sent are the replaced ones, valid nowhere any more: nothing secret travels through Redis.
  if (deps.acrossNodes && revoked.size > 0) deps.io.serverSideEmit('links:revoked', { roomId, tokens: [...revoked] });
  return { editToken: after.editToken, viewToken: after.viewToken };
}

/** Puts out this node's holders of `revoked` tokens of `roomId` (all but `caller`). */
export function putOutHolders(deps: { io: StudioIO; docs: DocServer }, roomId: string, revoked: ReadonlySet<string>, caller?: StudioSocket): void {
  for (const id of deps.io.sockets.adapter.rooms.get(ioRoom(roomId)) ?? []) {
    const s = deps.io.sockets.sockets.get(id);
    if (!s || s === caller || !s.data.token || !revoked.has(s.data.token)) continue;
    s.emit('room:revoked', { roomId, reason: 'this link was replaced by an editor' });
    void s.leave(ioRoom(roomId));
    s.data.roomId = s.data.role = s.data.token = undefined;
  }
  // Sockets that dropped and may still recover their session (Socket.IO's connection-state recovery): out
  // of the room now, so the broadcasts they missed are not replayed to them; their `data` keeps the old
  // token, so when they come back recheckRecoveredSession tells them they were put out.
  for (const session of recoverableSessions(deps.io)) {
    if (session.data?.token && revoked.has(session.data.token)) session.rooms = session.rooms.filter((r) => r !== ioRoom(roomId));
  }
  deps.docs.disconnect(roomId, (context) => revoked.has((context as { token?: string } | undefined)?.token ?? ''), CLOSE_FORBIDDEN, 'link revoked');
}

/** Cluster mode: puts out this node's holders when another node rotates a room's links. */
export function listenForRemoteRevocations(deps: { io: StudioIO; docs: DocServer }): void {
  deps.io.on('links:revoked', (revocation) => {
    // From a peer node through Redis: trusted, but a malformed one must not throw inside the adapter.
    const { roomId, tokens } = (revocation ?? {}) as { roomId?: unknown; tokens?: unknown };
    if (typeof roomId !== 'string' || !Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) return;
    putOutHolders(deps, roomId, new Set(tokens as string[]));
  });
}

/** The Socket.IO event handlers: each validates its input, checks the caller's role, and acks a Result. */
import type { Ack, ErrorInfo, PublicUser, Result } from '../protocol/events.js';
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import type { ModelRegistry } from '../rooms/model-registry.js';
import type { RunCoordinator } from '../runs/run-coordinator.js';
import type { RoomHistory } from '../runs/room-history.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';

export interface HandlerDeps {
  io: StudioIO;
  store: RoomStore;
  rooms: RoomService;
  models: ModelRegistry;
  runs: RunCoordinator;
  history: RoomHistory;
}

function toError(err: unknown): ErrorInfo {
  if (err instanceof RoomError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  console.error('[socket] handler failed:', err);
  return { code: typeof e?.code === 'string' ? e.code : 'internal', message: String(e?.message ?? 'internal error') };
}

/** Runs a handler and acks its result or its error; a missing ack function is tolerated. */
function respond<T>(ack: unknown, work: () => Promise<T> | T): void {
  const reply = typeof ack === 'function' ? (ack as Ack<T>) : () => {};
  Promise.resolve()
    .then(work)
    .then((value) => reply({ ok: true, ...value } as Result<T>))
    .catch((err) => reply({ ok: false, error: toError(err) }));
}

function cleanUser(u: unknown, fallbackId: string): PublicUser {
  const v = (u ?? {}) as Partial<PublicUser>;
  return {
    id: typeof v.id === 'string' && v.id.length <= 64 ? v.id : fallbackId,
    name: typeof v.name === 'string' && v.name.trim() ? v.name.trim().slice(0, 40) : 'Anonymous',
    color: typeof v.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(v.color) ? v.color : '#888888',
  };
}

function requireMember(socket: StudioSocket): string {
  if (!socket.data.roomId) throw new RoomError('invalid', 'join a room first');
  return socket.data.roomId;
}

function requireEditor(socket: StudioSocket): string {
  const { roomId, role } = socket.data;
  if (!roomId) throw new RoomError('invalid', 'join a room first');
  if (role !== 'edit') throw new RoomError('forbidden', 'this link can only watch');
  return roomId;
}

export function registerHandlers(socket: StudioSocket, deps: HandlerDeps): void {
  const { store, rooms, models, runs, history } = deps;

  socket.on('models:list', (ack) => respond(ack, () => ({ models: models.list() })));

  socket.on('seed:preview', (req, ack) => respond(ack, async () => ({ image: await rooms.preview(req ?? {}) })));

  socket.on('room:create', (req, ack) =>
    respond(ack, async () => {
      const room = await rooms.create(req ?? {});
      return { roomId: room.id, editToken: room.editToken, viewToken: room.viewToken };
    }),
  );

  socket.on('room:join', (req, ack) =>
    respond(ack, async () => {
      const found = await store.findByToken(req?.token);
      if (!found) throw new RoomError('not-found', 'no room for this link');
      const { room, role } = found;
      if (socket.data.roomId && socket.data.roomId !== room.id) await socket.leave(ioRoom(socket.data.roomId));
      socket.data.roomId = room.id;
      socket.data.role = role;
      socket.data.user = cleanUser(req?.user, socket.id);
      await socket.join(ioRoom(room.id));
      return {
        state: {
          room: rooms.summary(room),
          role,
          links: role === 'edit' ? { edit: room.editToken, view: room.viewToken } : { view: room.viewToken },
          image: rooms.image(room),
          runs: runs.state(room.id),
          liveFrame: runs.liveFrame(room.id),
        },
      };
    }),
  );

  socket.on('room:leave', () => {
    if (socket.data.roomId) void socket.leave(ioRoom(socket.data.roomId));
    socket.data.roomId = undefined;
    socket.data.role = undefined;
  });

  socket.on('rooms:describe', (req, ack) =>
    respond(ack, async () => {
      const tokens = Array.isArray(req?.tokens) ? req.tokens.slice(0, 50) : [];
      const found = await Promise.all(tokens.map(async (token) => ({ token, hit: await store.findByToken(token) })));
      return {
        rooms: found.flatMap(({ token, hit }) => (hit ? [{ token, role: hit.role, room: rooms.summary(hit.room) }] : [])),
      };
    }),
  );

  socket.on('run:start', (ack) =>
    respond(ack, async () => {
      const roomId = requireEditor(socket);
      return runs.start(roomId, socket.data.user ?? null);
    }),
  );

  socket.on('run:stop', (ack) =>
    respond(ack, () => {
      const roomId = requireEditor(socket);
      return { cancelled: runs.stop(roomId) };
    }),
  );

  socket.on('history:list', (ack) => respond(ack, () => history.list(requireMember(socket))));

  socket.on('history:step', (req, ack) =>
    respond(ack, async () => ({ step: await history.step(requireMember(socket), req ?? {}) })),
  );

  // Anyone in the room may fork (a fork is a new room of their own; the parent is unchanged).
  socket.on('history:fork', (req, ack) =>
    respond(ack, async () => {
      const room = await history.fork(requireMember(socket), req ?? {});
      return { roomId: room.id, editToken: room.editToken, viewToken: room.viewToken };
    }),
  );

  socket.on('history:undo', (ack) => respond(ack, () => history.undo(requireEditor(socket), socket.data.user ?? null)));
}

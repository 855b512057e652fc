/**
 * The Socket.IO event handlers. Every request goes through `listen`: its payload is checked against
 * event-schemas.ts, then the handler checks the caller's role, and the result or error is acknowledged (or,
 * for a request sent without an acknowledgement, reported as `request:error`). Nothing a malformed request
 * carries reaches a handler, and a failing handler affects only its caller.
 */
import type { z } from 'zod';
import type { Ack, ClientToServerEvents, ErrorInfo, Result } from '../protocol/events.js';
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import type { ModelRegistry } from '../rooms/model-registry.js';
import type { RunCoordinator } from '../runs/run-coordinator.js';
import type { RoomHistory } from '../runs/room-history.js';
import type { DocServer } from '../yjs/doc-server.js';
import { describeIssue, REQUEST_SCHEMAS, type EventWithPayload } from './event-schemas.js';
import { revokeLinks } from './revoke-links.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';

export interface HandlerDeps {
  io: StudioIO;
  store: RoomStore;
  rooms: RoomService;
  models: ModelRegistry;
  runs: RunCoordinator;
  history: RoomHistory;
  docs: DocServer;
  /** Requests this connection may have unanswered at once (server/limits.ts). */
  requestsInFlight: number;
}

type Payload<E> = E extends EventWithPayload ? z.infer<(typeof REQUEST_SCHEMAS)[E]> : undefined;
type AckValue<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]> extends [...unknown[], Ack<infer T>] ? T : void;

function toError(err: unknown): ErrorInfo {
  if (err instanceof RoomError) return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  console.error('[socket] handler failed:', err);
  return { code: typeof e?.code === 'string' ? e.code : 'internal', message: String(e?.message ?? 'internal error') };
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
  const { io, store, rooms, models, runs, history, docs } = deps;
  const known = new Set<string>();
  let inFlight = 0;

  function listen<E extends keyof ClientToServerEvents>(event: E, work: (payload: Payload<E>) => Promise<AckValue<E>> | AckValue<E>): void {
    known.add(event);
    const schema = (REQUEST_SCHEMAS as Record<string, z.ZodType | undefined>)[event];
    (socket as unknown as { on(e: string, l: (...args: unknown[]) => void): void }).on(event, (...args) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as (r: Result<unknown>) => void) : undefined;
      const reply = (r: Result<unknown>) => {
        if (ack) ack(r);
        else if (!r.ok) socket.emit('request:error', { event, error: r.error });
      };
      if (inFlight >= deps.requestsInFlight) {
        reply({ ok: false, error: { code: 'limit', message: `more than ${deps.requestsInFlight} requests waiting for an answer; wait for some` } });
        return;
      }
      inFlight++;
      Promise.resolve()
        .then(() => {
          let payload: unknown;
          if (schema) {
            const parsed = schema.safeParse(args[0]);
            if (!parsed.success) throw new RoomError('invalid', `${event}: ${describeIssue(parsed.error)}`);
            payload = parsed.data;
          } else if (args.length > 0) throw new RoomError('invalid', `${event} takes no payload`);
          return work(payload as Payload<E>);
        })
        .then((value) => reply({ ok: true, ...(value as object) } as Result<unknown>))
        .catch((err) => reply({ ok: false, error: toError(err) }))
        .finally(() => inFlight--);
    });
  }

  socket.onAny((event: string) => {
    if (!known.has(event)) socket.emit('request:error', { event: String(event).slice(0, 64), error: { code: 'unknown-event', message: 'no such request' } });
  });

  listen('models:list', () => ({ models: models.list() }));

  listen('seed:preview', async (req) => ({ image: await rooms.preview(req) }));

  listen('room:create', async (req) => {
    const room = await rooms.create(req);
    return { roomId: room.id, editToken: room.editToken, viewToken: room.viewToken };
  });

  const unknownLink = () => new RoomError('unauthorized', 'no room for this link (it may have been replaced)');
  listen('room:join', async ({ token, user }) => {
    const found = await store.findByToken(token);
    if (!found) throw unknownLink();
    const { room, role } = found;
    if (socket.data.roomId && socket.data.roomId !== room.id) await socket.leave(ioRoom(socket.data.roomId));
    socket.data.roomId = room.id;
    socket.data.role = role;
    socket.data.token = token;
    socket.data.user = { id: user.id, name: user.name.trim().slice(0, 40) || 'Anonymous', color: user.color };
    await socket.join(ioRoom(room.id));
    // A link rotation that ran while the token was being read has swept the room before this socket was in
    // it: read again now that it is, and leave if the link was replaced meanwhile.
    const current = await store.findByToken(token);
    if (!current || current.room.id !== room.id || current.role !== role) {
      await socket.leave(ioRoom(room.id));
      socket.data.roomId = socket.data.role = socket.data.token = undefined;
      throw unknownLink();
    }
    const now = current.room;
    return {
      state: {
        room: rooms.summary(now),
        role,
        links: role === 'edit' ? { edit: now.editToken, view: now.viewToken } : { view: now.viewToken },
        image: rooms.image(now),
        runs: runs.state(now.id),
        liveFrame: runs.liveFrame(now.id),
      },
    };
  });

  listen('room:leave', () => {
    if (socket.data.roomId) void socket.leave(ioRoom(socket.data.roomId));
    socket.data.roomId = socket.data.role = socket.data.token = undefined;
  });

  listen('rooms:describe', async ({ tokens }) => {
    const found = await Promise.all(tokens.map(async (token) => ({ token, hit: await store.findByToken(token) })));
    return { rooms: found.flatMap(({ token, hit }) => (hit ? [{ token, role: hit.role, room: rooms.summary(hit.room) }] : [])) };
  });

  listen('room:rotate-links', async ({ which }) => {
    const roomId = requireEditor(socket);
    const { editToken, viewToken } = await revokeLinks({ io, store, docs }, roomId, which, socket);
    return { editToken, viewToken };
  });

  listen('run:start', () => runs.start(requireEditor(socket), socket.data.user ?? null));

  listen('run:stop', () => ({ cancelled: runs.stop(requireEditor(socket)) }));

  listen('history:list', (page) => history.list(requireMember(socket), page ?? {}));

  listen('history:step', async (req) => ({ step: await history.step(requireMember(socket), req) }));

  // Anyone in the room may fork (a fork is a new room of their own; the parent is unchanged).
  listen('history:fork', async (req) => {
    const room = await history.fork(requireMember(socket), req);
    return { roomId: room.id, editToken: room.editToken, viewToken: room.viewToken };
  });

  listen('history:undo', () => history.undo(requireEditor(socket), socket.data.user ?? null));
  listen('history:redo', () => history.redo(requireEditor(socket), socket.data.user ?? null));
}

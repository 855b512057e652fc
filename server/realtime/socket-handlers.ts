/**
 * The Socket.IO event handlers. Every request passes the connection's rate limit (message-rate-limit.ts), then
 * goes through `listen`: its payload is checked against event-schemas.ts, then the handler checks the caller's
 * role, and the result or error is acknowledged (or, for a request sent without an acknowledgement, reported
 * as `request:error`). Nothing a malformed request carries reaches a handler, and a failing handler affects
 * only its caller. A session restored by connection-state recovery is served only once its link is checked
 * again (recovered-session.ts).
 */
import type { z } from 'zod';
import type { Ack, ClientToServerEvents, ErrorInfo, Result } from '../../contract/events.js';
import type { RoomStore } from '../rooms/room-store.js';
import { RoomError, type RoomService } from '../rooms/room-service.js';
import type { ModelRegistry } from '../rooms/model-registry.js';
import type { ModelStats } from '../rooms/model-stats.js';
import type { RunCoordinator } from '../runs/run-coordinator.js';
import type { RoomHistory } from '../runs/room-history.js';
import type { DocServer } from '../yjs/doc-server.js';
import { describeIssue, REQUEST_SCHEMAS, type EventWithPayload } from './event-schemas.js';
import { revokeLinks } from './revoke-links.js';
import { cleanDisplayText, MAX_NAME_GRAPHEMES } from '../../contract/display-text.js';
import { ioRoom, type StudioIO, type StudioSocket } from './types.js';
import type { IncomingMessage } from 'node:http';
import { spendQuota, type AddressQuotas } from './address-quotas.js';
import { limitMessageRate, type MessageRateLimit } from './message-rate-limit.js';
import { recheckRecoveredSession } from './recovered-session.js';

export interface HandlerDeps {
  io: StudioIO;
  store: RoomStore;
  rooms: RoomService;
  models: ModelRegistry;
  stats: ModelStats;
  runs: RunCoordinator;
  history: RoomHistory;
  docs: DocServer;
  /** Requests this connection may have unanswered at once (server/limits.ts). */
  requestsInFlight: number;
  /** Requests per second this connection may send (server/limits.ts). */
  messageRate: MessageRateLimit;
  /** The server's per-address buckets for room:create and seed:preview. */
  quotas: AddressQuotas;
  /** The client's address behind the configured trusted proxies (server/client-address.ts): the quotas' key. */
  clientAddress: (req: IncomingMessage) => string;
  /** Other web nodes serve the same rooms (cluster mode): link rotations are told to them too. */
  acrossNodes?: boolean;
}

type Payload<E> = E extends EventWithPayload ? z.infer<(typeof REQUEST_SCHEMAS)[E]> : undefined;
type AckValue<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]> extends [...unknown[], Ack<infer T>] ? T : void;

function toError(err: unknown): ErrorInfo {
  const e = err as { code?: unknown; message?: unknown; retryAfterSeconds?: unknown };
  const retry = typeof e?.retryAfterSeconds === 'number' ? { retryAfterSeconds: e.retryAfterSeconds } : {};
  if (err instanceof RoomError || e?.code === 'busy') return { code: String(e.code), message: String(e.message), ...retry };
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
  const { io, store, rooms, models, stats, runs, history, docs, quotas } = deps;
  const known = new Set<string>();
  let inFlight = 0;
  const address = deps.clientAddress(socket.request);
  limitMessageRate(socket, deps.messageRate);
  // Requests wait for this; a failed check (the store is down) ends the connection rather than serving a
  // session whose rights could not be confirmed.
  const checked: Promise<void> = socket.recovered
    ? recheckRecoveredSession(socket, store).catch((err) => {
        console.error('[socket] could not check a recovered session:', err);
        socket.disconnect(true);
      })
    : Promise.resolve();

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
      checked
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

  const modelList = () => models.list((m) => stats.stepMs(m));
  listen('models:list', modelList);
  // Anyone may ask (the list is public): rescans are coalesced in the registry, so asking often costs no more disk reads.
  listen('models:rescan', () => {
    models.rescan();
    return modelList();
  });

  listen('seed:preview', async (req) => {
    spendQuota(quotas.seedPreview, address, 'seed previews');
    return { image: await rooms.preview(req, address) };
  });

  listen('room:create', async (req) => {
    spendQuota(quotas.roomCreate, address, 'new rooms');
    const room = await rooms.create(req, address);
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
    socket.data.user = { id: user.id, name: cleanDisplayText(user.name, MAX_NAME_GRAPHEMES) || 'Anonymous', color: user.color };
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
    const { editToken, viewToken } = await revokeLinks({ io, store, docs, acrossNodes: deps.acrossNodes }, roomId, which, socket);
    return { editToken, viewToken };
  });

  listen('run:start', async () => {
    const roomId = requireEditor(socket);
    await rooms.checkModel(roomId);
    return runs.start(roomId, socket.data.user ?? null, { connection: socket.id, address });
  });

  listen('run:stop', async () => ({ cancelled: await runs.stop(requireEditor(socket)) }));

  listen('history:list', (page) => history.list(requireMember(socket), page ?? {}));

  listen('history:step', async (req) => ({ step: await history.step(requireMember(socket), req, address) }));

  // Anyone in the room may fork (a fork is a new room of their own; the parent is unchanged). It creates a
  // room, so it spends the same quota as room:create.
  listen('history:fork', async (req) => {
    const roomId = requireMember(socket);
    spendQuota(quotas.roomCreate, address, 'new rooms');
    const room = await history.fork(roomId, req, address);
    return { roomId: room.id, editToken: room.editToken, viewToken: room.viewToken };
  });

  listen('history:undo', () => history.undo(requireEditor(socket), socket.data.user ?? null));
  listen('history:redo', () => history.redo(requireEditor(socket), socket.data.user ?? null));
}

'use client';
/** The browser's one Socket.IO connection, typed by the shared contract, and a promise-style request helper. */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, Result, ServerToClientEvents } from '../../contract/events';
import { SOCKET_IO_PATH } from '../../contract/events';

export type StudioClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let socket: StudioClientSocket | undefined;

export function getSocket(): StudioClientSocket {
  socket ??= io({
    path: SOCKET_IO_PATH,
    transports: ['websocket', 'polling'],
    // Backoff with jitter, 0.5 s doubling to 10 s: quick after a blip, gentle on a down server.
    reconnectionDelay: 500,
    reconnectionDelayMax: 10_000,
    randomizationFactor: 0.5,
  });
  return socket;
}

export class RequestError extends Error {
  /** With 'limit' and 'busy': when the request is worth repeating (the message says so too). */
  constructor(readonly code: string, message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

type EventsWithAck = {
  [K in keyof ClientToServerEvents]: Parameters<ClientToServerEvents[K]> extends [...infer A, (r: Result<infer T>) => void] ? { args: A; result: T } : never;
};

/** Emits an event with an acknowledgement and resolves with its value, or rejects with a RequestError. */
export async function request<K extends keyof EventsWithAck>(event: K, ...args: EventsWithAck[K]['args']): Promise<EventsWithAck[K]['result']> {
  const s = getSocket() as unknown as { timeout(ms: number): { emitWithAck(e: string, ...a: unknown[]): Promise<Result<unknown>> } };
  let res: Result<unknown>;
  try {
    res = await s.timeout(30_000).emitWithAck(event, ...args);
  } catch {
    throw new RequestError('timeout', 'the server did not answer in time');
  }
  if (!res.ok) throw new RequestError(res.error.code, res.error.message, res.error.retryAfterSeconds);
  return res as EventsWithAck[K]['result'];
}

/** The events that take no payload: the room's buttons (Start, Stop, Undo, Redo). */
type Command = { [K in keyof EventsWithAck]: EventsWithAck[K]['args'] extends [] ? K : never }[keyof EventsWithAck];

/** Sends a command; a refusal goes to `onError` (shown to the user) instead of being thrown. */
export async function command(event: Command, onError: (message: string) => void): Promise<void> {
  try {
    await (request as (e: Command) => Promise<unknown>)(event);
  } catch (err) {
    onError((err as Error).message);
  }
}

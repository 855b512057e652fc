/** Typed Socket.IO server and socket, from the shared contract in ../protocol/events.ts. */
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../../contract/events.js';

export type StudioIO = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type StudioSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Socket.IO room name of a studio room. */
export const ioRoom = (roomId: string) => `room:${roomId}`;

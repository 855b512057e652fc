/**
 * One loaded document: the Y.Doc, its awareness, and the websocket connections attached to it. Every
 * change, from a client or from the server itself, is relayed to all connections from here.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { WebSocket } from 'ws';
import { encodeAwareness, encodeUpdate } from './messages.js';

/** What the auth hooks said about a connection (e.g. `{ token, role }`), handed to later hooks and `DocServer.disconnect`. */
export type ConnectionContext = Record<string, unknown>;

export interface ConnectionInfo {
  readOnly: boolean;
  context: ConnectionContext;
  /** Awareness client ids this connection announced, removed when it closes. */
  clientIds: Set<number>;
}

export class SharedDoc extends Y.Doc {
  readonly awareness: awarenessProtocol.Awareness;
  readonly conns = new Map<WebSocket, ConnectionInfo>();
  /** Which connection announced each awareness client id (the inverse of the connections' clientIds). */
  private readonly owners = new Map<number, WebSocket>();
  /** Holders other than connections (e.g. a run that will write handles back); a held doc is never unloaded. */
  holds = 0;

  constructor(readonly name: string) {
    super({ gc: true });
    this.awareness = new awarenessProtocol.Awareness(this);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    this.on('update', (update: Uint8Array) => this.broadcast(encodeUpdate(update)));
    this.awareness.on('update', ({ added, updated, removed }: AwarenessChange, origin: unknown) => {
      const changed = [...added, ...updated, ...removed];
      const info = origin ? this.conns.get(origin as WebSocket) : undefined;
      if (info) {
        for (const id of added) {
          info.clientIds.add(id);
          this.owners.set(id, origin as WebSocket);
        }
        for (const id of removed) {
          info.clientIds.delete(id);
          this.owners.delete(id);
        }
      }
      this.broadcast(encodeAwareness(this.awareness, changed));
    });
  }

  /** The connection that announced this awareness client id, if one still holds it. */
  ownerOf(clientId: number): WebSocket | undefined {
    return this.owners.get(clientId);
  }

  broadcast(message: Uint8Array): void {
    for (const ws of this.conns.keys()) send(ws, message);
  }

  /** Drops a connection and the presence it announced. */
  removeConnection(ws: WebSocket): void {
    const info = this.conns.get(ws);
    if (!info) return;
    this.conns.delete(ws);
    for (const id of info.clientIds) if (this.owners.get(id) === ws) this.owners.delete(id);
    awarenessProtocol.removeAwarenessStates(this.awareness, [...info.clientIds], null);
  }

  override destroy(): void {
    this.awareness.destroy();
    super.destroy();
  }
}

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

export function send(ws: WebSocket, message: Uint8Array): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(message, (err) => {
    if (err) ws.terminate();
  });
}

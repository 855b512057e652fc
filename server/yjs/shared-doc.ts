/**
 * One loaded document: the Y.Doc, its awareness, and the websocket connections attached to it. Every
 * change, from a client or from the server itself, is relayed to all connections from here.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { WebSocket } from 'ws';
import { COMPACTION_ORIGIN } from './compact.js';
import { CLOSE_TOO_SLOW, encodeAwareness, encodeUpdate } from './messages.js';

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
  /**
   * Awareness client ids announced on other web nodes (the cluster relay keeps this), each with its node: no
   * connection here may claim them, as none may claim another connection's.
   */
  readonly remoteClients = new Map<number, string>();
  /** Holders other than connections (e.g. a run that will write handles back); a held doc is never unloaded. */
  holds = 0;
  /**
   * A compaction's changes, sent only once the store that follows it is done (`sendCompaction`): were the
   * server to die in between, peers would hold copies the database lacks, and a compaction after the restart
   * would copy the same entries again.
   */
  private unsentCompaction: Uint8Array[] = [];

  /**
   * `maxBufferedBytes`: what one connection may leave unread before it is closed (4408) instead of sent more.
   */
  constructor(
    readonly name: string,
    readonly maxBufferedBytes = Infinity,
  ) {
    super({ gc: true });
    this.awareness = new awarenessProtocol.Awareness(this);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    this.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === COMPACTION_ORIGIN) this.unsentCompaction.push(update);
      else this.broadcast(encodeUpdate(update));
    });
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
    for (const ws of this.conns.keys()) this.send(ws, message);
  }

  /** Sends the changes of compactions since the last call (see unsentCompaction). */
  sendCompaction(): void {
    const updates = this.unsentCompaction.splice(0);
    if (updates.length > 0) this.broadcast(encodeUpdate(Y.mergeUpdates(updates)));
  }

  /** Sends to one connection; one over maxBufferedBytes is dropped from the document and closed instead. */
  send(ws: WebSocket, message: Uint8Array): void {
    if (!send(ws, message, this.maxBufferedBytes)) this.removeConnection(ws);
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

/**
 * A peer over the cap gets the close frame after what it has not read yet, so one that reads on sees 4408; one
 * that does not is cut off after this long, which frees what is buffered for it.
 */
const SLOW_READER_GRACE_MS = 2000;

/**
 * Sends `message` unless the peer already has more than `maxBufferedBytes` unread: `ws.bufferedAmount` counts
 * what ws has queued (e.g. while compressing) and what the socket's stream holds, i.e. what the kernel has not
 * taken because the peer does not read. Such a peer is closed (4408) and false returned.
 */
export function send(ws: WebSocket, message: Uint8Array, maxBufferedBytes = Infinity): boolean {
  if (ws.readyState !== ws.OPEN) return true;
  const unread = ws.bufferedAmount;
  if (unread > maxBufferedBytes) {
    ws.close(CLOSE_TOO_SLOW, `too slow: ${unread} bytes unread`);
    setTimeout(() => ws.readyState !== ws.CLOSED && ws.terminate(), SLOW_READER_GRACE_MS).unref();
    return false;
  }
  ws.send(message, (err) => {
    if (err) ws.terminate();
  });
  return true;
}

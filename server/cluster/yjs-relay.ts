/**
 * Yjs across web nodes, after Hocuspocus's Redis extension: each loaded document has a Redis pub/sub channel;
 * a node publishes the changes and the presence its own clients make, and applies what the other nodes
 * publish. On load (and after a Redis outage, when pub/sub may have dropped messages) a node sends its state
 * vector and the others answer with what it lacks and with their clients' presence.
 *
 * Updates are checked (contract/doc-validate.ts and the other beforeApplyUpdate hooks) on the node whose
 * client sent them; what arrives from a peer node was checked there and is applied as it is, with a
 * `PeerOrigin` so the other hooks can tell it from a local change (it is not logged again, not republished).
 *
 * Presence from a peer node is remembered with that node's id: when the node says goodbye or stops sending
 * heartbeats (node-liveness.ts), its clients' presence is removed here and at our clients at once.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import type { DocServerHooks } from '../yjs/doc-server.js';
import type { SharedDoc } from '../yjs/shared-doc.js';
import { hasPending } from '../yjs/update-deps.js';
import type { RedisConnections } from './redis-connections.js';
import type { Channels } from './channels.js';
import type { NodeLiveness } from './node-liveness.js';
import { decodeRelayMessage, encodeRelayMessage, type RelayMessage } from './yjs-relay-messages.js';

/** The transaction (and awareness) origin of a change relayed from another node. */
export class PeerOrigin {
  constructor(readonly nodeId: string) {}
}

export const isPeerOrigin = (origin: unknown): origin is PeerOrigin => origin instanceof PeerOrigin;

interface RelayedDoc {
  name: string;
  doc: SharedDoc;
  channel: string;
  /** Awareness client id -> the node whose client announced it (the document's remoteClients). */
  peerClients: Map<number, string>;
  /** When this node last asked for what it lacks (a catch-up is asked for at most once a second). */
  askedAt: number;
  catchUpTimer?: NodeJS.Timeout;
}

const CATCH_UP_INTERVAL_MS = 1000;

interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

export class YjsRelay {
  private readonly docs = new Map<string, RelayedDoc>();

  constructor(
    private readonly redis: RedisConnections,
    private readonly channels: Channels,
    liveness: NodeLiveness,
  ) {
    liveness.onGone((nodeId) => this.forgetNode(nodeId));
    // Pub/sub keeps nothing for a subscriber that was away: catch up with every document on the way back.
    channels.onReconnect(() => this.docs.forEach((d) => this.announce(d)));
  }

  /** Documents relayed now (observability; tests read it). */
  get relayedDocuments(): number {
    return this.docs.size;
  }

  hooks(): DocServerHooks {
    return {
      // Last among the load hooks: the document holds what storage had, and a room that fails to load is never subscribed.
      onLoadDocument: ({ documentName, document }) => this.attach(documentName, document),
      onChange: ({ documentName, update, origin }) => {
        if (isPeerOrigin(origin)) return;
        const d = this.docs.get(documentName);
        if (d) this.publish(d, { kind: 'update', from: this.redis.nodeId, update });
      },
    };
  }

  private async attach(name: string, doc: SharedDoc): Promise<void> {
    const d: RelayedDoc = { name, doc, channel: this.redis.key('yjs', name), peerClients: doc.remoteClients, askedAt: 0 };
    this.docs.set(name, d);
    doc.awareness.on('update', (change: AwarenessChange, origin: unknown) => this.onAwareness(d, change, origin));
    const handler = (message: Buffer) => this.onMessage(d, message);
    doc.once('destroy', () => {
      if (this.docs.get(name) === d) this.docs.delete(name);
      clearTimeout(d.catchUpTimer);
      void this.channels.unsubscribe(d.channel, handler);
    });
    await this.channels.subscribe(d.channel, handler);
    this.announce(d);
  }

  private onAwareness(d: RelayedDoc, { added, updated, removed }: AwarenessChange, origin: unknown): void {
    if (isPeerOrigin(origin)) {
      for (const id of [...added, ...updated]) d.peerClients.set(id, origin.nodeId);
      for (const id of removed) d.peerClients.delete(id);
      return;
    }
    // Only our own clients' presence goes out: a peer's client that timed out here is its node's to remove.
    const own = [...added, ...updated, ...removed].filter((id) => !d.peerClients.has(id));
    for (const id of removed) d.peerClients.delete(id);
    if (own.length) this.publish(d, { kind: 'awareness', from: this.redis.nodeId, update: awarenessProtocol.encodeAwarenessUpdate(d.doc.awareness, own) });
  }

  private onMessage(d: RelayedDoc, data: Buffer): void {
    const m = decodeRelayMessage(data);
    if (m.from === this.redis.nodeId) return;
    const origin = new PeerOrigin(m.from);
    switch (m.kind) {
      case 'update':
        Y.applyUpdate(d.doc, m.update, origin);
        // It needs a change that never came (a message Redis dropped): until that arrives, Yjs holds it aside
        // and the update checks refuse every client edit that builds on it. Ask for the gap now.
        if (hasPending(d.doc)) this.catchUp(d);
        break;
      case 'awareness':
        awarenessProtocol.applyAwarenessUpdate(d.doc.awareness, m.update, origin);
        break;
      case 'answer':
        if (m.to === this.redis.nodeId) Y.applyUpdate(d.doc, m.update, origin);
        break;
      case 'sync': {
        this.publish(d, { kind: 'answer', from: this.redis.nodeId, to: m.from, update: Y.encodeStateAsUpdate(d.doc, m.stateVector) });
        this.publishOwnPresence(d);
        // The asker has changes we never got (messages dropped while Redis was away): ask back.
        if (lacksSomething(d.doc, m.stateVector)) this.askForMissing(d);
        break;
      }
    }
  }

  /** Asks the other nodes for what this one lacks, and tells them who is here. */
  private announce(d: RelayedDoc): void {
    this.askForMissing(d);
    this.publishOwnPresence(d);
  }

  /** Asks for what the document lacks, as soon as the last ask is a catch-up interval old, if it still lacks it then. */
  private catchUp(d: RelayedDoc): void {
    if (d.catchUpTimer) return;
    d.catchUpTimer = setTimeout(() => {
      d.catchUpTimer = undefined;
      if (hasPending(d.doc)) this.askForMissing(d);
    }, Math.max(0, d.askedAt + CATCH_UP_INTERVAL_MS - Date.now()));
    d.catchUpTimer.unref();
  }

  private askForMissing(d: RelayedDoc): void {
    d.askedAt = Date.now();
    this.publish(d, { kind: 'sync', from: this.redis.nodeId, stateVector: Y.encodeStateVector(d.doc) });
  }

  private publishOwnPresence(d: RelayedDoc): void {
    const own = [...d.doc.awareness.getStates().keys()].filter((id) => id !== d.doc.awareness.clientID && !d.peerClients.has(id));
    if (own.length) this.publish(d, { kind: 'awareness', from: this.redis.nodeId, update: awarenessProtocol.encodeAwarenessUpdate(d.doc.awareness, own) });
  }

  private forgetNode(nodeId: string): void {
    for (const d of this.docs.values()) {
      const ids = [...d.peerClients].filter(([, n]) => n === nodeId).map(([id]) => id);
      if (ids.length) awarenessProtocol.removeAwarenessStates(d.doc.awareness, ids, new PeerOrigin(nodeId));
    }
  }

  private publish(d: RelayedDoc, m: RelayMessage): void {
    // Not queued while Redis is away (memory would grow with the outage); the catch-up on reconnect covers it.
    if (this.redis.commands.status !== 'ready') return;
    this.redis.commands.publish(d.channel, encodeRelayMessage(m)).catch((err) => console.warn(`[yjs] relaying a change of ${d.name} failed: ${err.message}`));
  }
}

/** Whether a state vector counts changes of some client beyond what `doc` has. */
function lacksSomething(doc: Y.Doc, stateVector: Uint8Array): boolean {
  const ours = Y.decodeStateVector(Y.encodeStateVector(doc));
  for (const [client, clock] of Y.decodeStateVector(stateVector)) if (clock > (ours.get(client) ?? 0)) return true;
  return false;
}

/**
 * A small Yjs websocket server in the spirit of Hocuspocus: the core loads documents, relays sync and
 * awareness, and saves with a debounce; who may connect and where documents are stored are hooks, so
 * auth, storage and limits stay outside the core.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { attachConnection } from './connection.js';
import { compactIfDue, type CompactionPolicy } from './compact.js';
import { Debouncer, defaultRetryDelayMs } from './debounce.js';
import { DocSizeGuard } from './doc-size.js';
import { CLOSE_INVALID_UPDATE, CLOSE_NOT_FOUND, CLOSE_SERVER_SHUTDOWN, CLOSE_TOO_MANY, CLOSE_UNAUTHORIZED, closeReason } from './messages.js';
import { SharedDoc, type ConnectionContext } from './shared-doc.js';
import { hasPending } from './update-deps.js';
import { decodePathSegment, parseRequestTarget, refuseUpgrade } from '../request-target.js';
import { tokenFromProtocols, YJS_SUBPROTOCOL } from '../../contract/yjs-auth.js';

export interface DocServerHooks {
  /** Runs first for every connection (limits, bans). Returning false refuses it (4429, no reconnect). */
  onConnect?(ctx: { documentName: string; request: IncomingMessage }): boolean;
  /**
   * Decides whether a connection may open `documentName` and whether it may write. Null refuses (4401). A
   * `context` (e.g. `{ token, role }`) is kept with the connection (merged over earlier hooks' contexts) and
   * passed to the update hooks and to `DocServer.disconnect`'s filter. `token` is the credential the client
   * offered as a subprotocol (protocol/yjs-auth.ts), null when it offered none; `params` is the query string.
   */
  onAuthenticate?(ctx: { documentName: string; params: URLSearchParams; token: string | null }): Promise<{ readOnly: boolean; context?: ConnectionContext } | null>;
  /** Fills a newly created document, e.g. from storage. Throwing refuses connections to it (4404). */
  onLoadDocument?(ctx: { documentName: string; document: SharedDoc }): Promise<void>;
  /** Persists a document (debounced; also on unload and on close). */
  onStoreDocument?(ctx: { documentName: string; document: SharedDoc }): Promise<void>;
  /**
   * Every update applied to a loaded document, from a connection or from the server (`origin`: the
   * transaction's origin), synchronously from the document's 'update' event, in order; not the state applied
   * while loading.
   * For an append-only log between debounced stores. Not awaited: a hook handles its own failures.
   */
  onChange?(ctx: { documentName: string; document: SharedDoc; update: Uint8Array; origin: unknown }): void;
  /** A read-only connection sent a document change, which was dropped. */
  onRefusedWrite?(ctx: { documentName: string }): void;
  /**
   * Runs for a writable connection's document update (sync step 2 or update) before it is applied, in hook
   * order; the first reason returned refuses it: nothing is applied, the sender is closed with 4400 and the
   * reason, and everyone else carries on. Synchronous, on every edit: keep it cheap. A hook that throws refuses.
   */
  beforeApplyUpdate?(ctx: { documentName: string; document: SharedDoc; update: Uint8Array; context: ConnectionContext }): string | null;
  /** An update was refused by `beforeApplyUpdate` (for logs, counters, and to drop state a check built for it). */
  onRefusedUpdate?(ctx: { documentName: string; document: SharedDoc; reason: string; context: ConnectionContext }): void;
}

export interface DocServerOptions {
  /** URL path prefix; the document name is the rest of the path. */
  path: string;
  hooks?: DocServerHooks[];
  /** Quiet time before a store. Default 2000 ms (Hocuspocus's default). */
  debounceMs?: number;
  /** Longest a change waits to be stored while edits keep coming. Default 10000 ms. */
  maxDebounceMs?: number;
  /** How long a document nobody uses stays in memory. Default 30000 ms. */
  unloadDelayMs?: number;
  /** Largest message accepted from a client; a larger one closes the connection (1009). Default 8 MiB. */
  maxPayload?: number;
  /**
   * Wait before storing again after `failures` failed stores in a row. A document whose store fails stays
   * loaded, and is stored again, until a store succeeds. Default: 100 ms doubling up to 5 s.
   */
  storeRetryDelayMs?: (failures: number) => number;
  /** Messages one connection may send per second, and in one burst; over it, close 4420. Default: unlimited. */
  messagesPerSecond?: number;
  messageBurst?: number;
  /** Bytes a connection may leave unread before it is closed (4408). Default: unlimited. */
  maxBufferedBytes?: number;
  /** A connection's sync requests are answered at most once per this many ms. Default 0 (each at once). */
  syncIntervalMs?: number;
  /** Largest encoded document a client's update may produce (else close 4413). Default: unlimited. */
  maxDocumentBytes?: number;
  /** When a stored document is compacted (compact.ts). Default: never. */
  compaction?: CompactionPolicy;
}

/**
 * Messages a client may send before its connection is authenticated and its document loaded (they are parked
 * and replayed then). A y-websocket client sends two or three (sync step 1, awareness, maybe an update); a
 * client that streams more before it is let in is closed (4400) rather than buffered without bound.
 */
const MAX_EARLY_MESSAGES = 64;

/** Tries a document whose store keeps failing gets at shutdown, after the first, before its changes are given up. */
const SHUTDOWN_STORE_RETRIES = 5;

interface Entry {
  doc: SharedDoc;
  store: Debouncer;
  size: DocSizeGuard | null;
  unloadTimer?: NodeJS.Timeout;
}

export class DocServer {
  private readonly entries = new Map<string, Promise<Entry>>();
  private readonly wss: WebSocketServer;
  private readonly hooks: DocServerHooks[];
  /** Authenticated connections (attached or still loading their document), for `disconnect`. */
  private readonly authed = new Map<WebSocket, { documentName: string; context: ConnectionContext }>();
  private closing = false;
  /** Per document, how many times `disconnect` has run: an authentication that a disconnect overlapped is
   *  redone, since the credential it checked may be the one just revoked. */
  private readonly disconnects = new Map<string, number>();
  /** Updates refused by `beforeApplyUpdate`, per document (observability; tests read it). */
  readonly refusedUpdates = new Map<string, number>();

  constructor(private readonly opts: DocServerOptions) {
    this.hooks = opts.hooks ?? [];
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload ?? 8 * 1024 * 1024,
      // Selecting the fixed name keeps the token (the client's other subprotocol) out of the response.
      handleProtocols: (offered) => (offered.has(YJS_SUBPROTOCOL) ? YJS_SUBPROTOCOL : false),
    });
  }

  /** Whether an upgrade request is for this server (false for a target that cannot be parsed). */
  handles(req: IncomingMessage): boolean {
    const path = parseRequestTarget(req.url)?.pathname;
    return path !== undefined && (path === this.opts.path || path.startsWith(this.opts.path + '/'));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseRequestTarget(req.url);
    const documentName = url && decodePathSegment(url.pathname.slice(this.opts.path.length + 1));
    if (!url || !documentName) return refuseUpgrade(socket, 400, url ? 'bad document name in the request target' : 'bad request target');
    const token = tokenFromProtocols(parseProtocols(req.headers['sec-websocket-protocol']));
    // Accept first, then decide: y-websocket clients only stop retrying on a 44xx close code.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // E.g. a message over maxPayload: ws closes the connection (1009) and emits this, which unhandled would end the process.
      ws.on('error', (err) => console.warn(`[yjs] connection to ${documentName} failed: ${err.message}`));
      const allowed = this.hooks.every((h) => h.onConnect?.({ documentName, request: req }) ?? true);
      if (!allowed) return ws.close(CLOSE_TOO_MANY, 'too many connections');
      // Not awaited by anyone: a failure would be an unhandled rejection, which ends the process.
      this.onConnection(ws, documentName, url.searchParams, token).catch((err) => {
        console.error(`[yjs] setting up a connection to ${documentName} failed:`, err);
        if (ws.readyState === ws.OPEN) ws.close(1011, 'internal error');
      });
    });
  }

  private async onConnection(ws: WebSocket, documentName: string, params: URLSearchParams, token: string | null): Promise<void> {
    if (this.closing) return ws.close(CLOSE_SERVER_SHUTDOWN, 'server shutting down');
    // Messages that arrive while we authenticate and load would be lost: park them and replay.
    const early: Parameters<WebSocket['emit']>[] = [];
    const park = (...args: unknown[]) => {
      if (early.push(['message', ...args]) > MAX_EARLY_MESSAGES) {
        early.length = 0;
        ws.close(CLOSE_INVALID_UPDATE, 'too many messages before the document was ready');
      }
    };
    ws.on('message', park);
    let auth: Awaited<ReturnType<DocServer['authenticate']>>;
    for (;;) {
      const generation = this.disconnects.get(documentName) ?? 0;
      auth = await this.authenticate(documentName, params, token);
      if (!auth || (this.disconnects.get(documentName) ?? 0) === generation) break;
    }
    if (ws.readyState !== ws.OPEN) return;
    if (!auth) return ws.close(CLOSE_UNAUTHORIZED, 'unauthorized');
    const { context } = auth;
    this.authed.set(ws, { documentName, context });
    ws.once('close', () => this.authed.delete(ws));
    let entry: Entry;
    try {
      entry = await this.load(documentName);
    } catch (err) {
      return ws.close(CLOSE_NOT_FOUND, (err as Error).message.slice(0, 100));
    }
    if (ws.readyState !== ws.OPEN) return this.maybeUnload(entry);
    this.keep(entry);
    ws.off('message', park);
    const document = entry.doc;
    attachConnection(document, ws, {
      readOnly: auth.readOnly,
      context,
      onRefusedWrite: () => this.hooks.forEach((h) => h.onRefusedWrite?.({ documentName })),
      checkUpdate: (update) => {
        for (const h of this.hooks) {
          if (!h.beforeApplyUpdate) continue;
          let reason: string | null;
          try {
            reason = h.beforeApplyUpdate({ documentName, document, update, context });
          } catch (err) {
            console.error(`[yjs] beforeApplyUpdate hook failed on ${documentName}:`, err);
            reason = 'the update could not be checked';
          }
          if (typeof reason === 'string') return reason || 'update refused';
        }
        return null;
      },
      onRefusedUpdate: (reason) => {
        this.refusedUpdates.set(documentName, (this.refusedUpdates.get(documentName) ?? 0) + 1);
        for (const h of this.hooks) {
          try {
            h.onRefusedUpdate?.({ documentName, document, reason, context });
          } catch (err) {
            console.error(`[yjs] onRefusedUpdate hook failed on ${documentName}:`, err);
          }
        }
      },
      checkSize: entry.size ? (update) => entry.size!.check(update) : undefined,
      messagesPerSecond: this.opts.messagesPerSecond,
      messageBurst: this.opts.messageBurst,
      syncIntervalMs: this.opts.syncIntervalMs,
      onClose: () => this.maybeUnload(entry),
    });
    for (const args of early) ws.emit(...args);
  }

  /** The hooks' verdict, their contexts merged; null refuses (a hook that throws refuses). */
  private async authenticate(documentName: string, params: URLSearchParams, token: string | null): Promise<{ readOnly: boolean; context: ConnectionContext } | null> {
    let auth: { readOnly: boolean; context: ConnectionContext } | null = { readOnly: false, context: {} };
    try {
      for (const h of this.hooks) {
        if (!h.onAuthenticate || !auth) continue;
        const r: { readOnly: boolean; context?: ConnectionContext } | null = await h.onAuthenticate({ documentName, params, token });
        auth = r && { readOnly: r.readOnly, context: { ...auth.context, ...r.context } };
      }
    } catch {
      auth = null;
    }
    return auth;
  }

  /**
   * Closes the connections to `documentName` whose auth context matches `filter` (also those still loading
   * the document) with `code` and `reason`, e.g. `CLOSE_FORBIDDEN` / 'link revoked' when a token is rotated.
   * Connections still authenticating are authenticated again afterwards, so call this after the credential
   * has been revoked in storage. Frames they still had in flight are dropped. Returns how many were closed.
   */
  disconnect(documentName: string, filter: (context: ConnectionContext) => boolean, code: number, reason: string): number {
    this.disconnects.set(documentName, (this.disconnects.get(documentName) ?? 0) + 1);
    let closed = 0;
    for (const [ws, c] of this.authed) {
      if (c.documentName !== documentName || ws.readyState !== ws.OPEN || !filter(c.context)) continue;
      ws.close(code, closeReason(reason));
      closed++;
    }
    return closed;
  }

  /** Whether the document is in memory (loaded or loading; observability, tests read it). */
  isLoaded(documentName: string): boolean {
    return this.entries.has(documentName);
  }

  /** The loaded document, loading it if needed, held in memory until `release`. For server-side edits. */
  async acquire(documentName: string): Promise<SharedDoc> {
    const entry = await this.load(documentName);
    this.keep(entry);
    entry.doc.holds++;
    return entry.doc;
  }

  release(doc: SharedDoc): void {
    doc.holds = Math.max(0, doc.holds - 1);
    const entry = this.entries.get(doc.name);
    if (entry) void entry.then((e) => this.maybeUnload(e));
  }

  private load(documentName: string): Promise<Entry> {
    let p = this.entries.get(documentName);
    if (!p) {
      p = this.create(documentName);
      this.entries.set(documentName, p);
      p.catch(() => this.entries.delete(documentName));
    }
    return p;
  }

  private async create(documentName: string): Promise<Entry> {
    const doc = new SharedDoc(documentName, this.opts.maxBufferedBytes);
    for (const h of this.hooks) await h.onLoadDocument?.({ documentName, document: doc });
    if (hasPending(doc)) {
      // Stored before updates with missing dependencies were refused: what waits there was never checked.
      console.warn(`[yjs] ${documentName}: dropped stored changes whose dependencies are missing`);
      doc.store.pendingStructs = null;
      doc.store.pendingDs = null;
    }
    const size = this.opts.maxDocumentBytes ? new DocSizeGuard(doc, this.opts.maxDocumentBytes) : null;
    const compaction = this.opts.compaction;
    const store = new Debouncer(
      async () => {
        if (compaction) {
          try {
            if (compactIfDue(doc, compaction) > 0) size?.measure();
          } catch (err) {
            console.error(`[yjs] compacting ${documentName} failed (stored as it is):`, err);
          }
        }
        for (const h of this.hooks) await h.onStoreDocument?.({ documentName, document: doc });
        // Stored: the peers may have the compaction now (after a failed store it waits for the next one).
        doc.sendCompaction();
      },
      this.opts.debounceMs ?? 2000,
      this.opts.maxDebounceMs ?? 10_000,
      {
        retryDelayMs: (n) => this.retryDelayMs(n),
        onError: (err, n) => {
          // Every failure at first, then now and then: a storage outage would otherwise fill the log.
          if (n <= 5 || n % 20 === 0) {
            console.error(`[yjs] ${documentName}: storing the document failed (${n} in a row); it stays in memory and is stored again:`, err);
          }
        },
      },
    );
    // Registered after loading, so restoring stored state does not count as a change.
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      for (const h of this.hooks) {
        try {
          h.onChange?.({ documentName, document: doc, update, origin });
        } catch (err) {
          console.error(`[yjs] onChange hook failed on ${documentName}:`, err);
        }
      }
      store.trigger();
    });
    return { doc, store, size };
  }

  private keep(entry: Entry): void {
    if (entry.unloadTimer) clearTimeout(entry.unloadTimer);
    entry.unloadTimer = undefined;
  }

  private maybeUnload(entry: Entry): void {
    if (entry.doc.conns.size > 0 || entry.doc.holds > 0 || entry.unloadTimer) return;
    entry.unloadTimer = setTimeout(async () => {
      entry.unloadTimer = undefined;
      await entry.store.flush();
      if (entry.doc.conns.size > 0 || entry.doc.holds > 0) return;
      // Its store failed and is being retried: the changes exist only in this copy, so it stays until stored.
      if (entry.store.unsaved) return this.maybeUnload(entry);
      this.entries.delete(entry.doc.name);
      // The store just written covers everything, a compaction's own change included.
      entry.store.cancel();
      entry.size?.destroy();
      entry.doc.destroy();
    }, this.opts.unloadDelayMs ?? 30_000);
    entry.unloadTimer.unref();
  }

  /**
   * Runs `fn` while no store of the document (held by the caller) is in progress; stores due meanwhile wait
   * for it. For a server-side change that is written to storage by other means (e.g. in a transaction with
   * other rows) and then applied to the document: no store may run between the write and the apply.
   */
  async exclusive<T>(doc: SharedDoc, fn: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(doc.name);
    if (!entry) return fn();
    return (await entry).store.exclusive(fn);
  }

  /** Stores every document with unsaved changes now. */
  async flushAll(): Promise<void> {
    const entries = await Promise.allSettled([...this.entries.values()]);
    await Promise.all(entries.map((e) => (e.status === 'fulfilled' ? e.value.store.flush() : undefined)));
  }

  private async unsavedCount(): Promise<number> {
    const entries = await Promise.allSettled([...this.entries.values()]);
    return entries.filter((e) => e.status === 'fulfilled' && e.value.store.unsaved).length;
  }

  private retryDelayMs(failures: number): number {
    return (this.opts.storeRetryDelayMs ?? defaultRetryDelayMs)(failures);
  }

  /** Closes every connection and stores every document. */
  async close(): Promise<void> {
    this.closing = true;
    for (const ws of this.wss.clients) ws.close(CLOSE_SERVER_SHUTDOWN, 'server shutting down');
    await this.flushAll();
    // Documents whose store failed get a few more tries (with the usual waits) before they are let go.
    for (let n = 1; n <= SHUTDOWN_STORE_RETRIES && (await this.unsavedCount()) > 0; n++) {
      await new Promise((r) => setTimeout(r, this.retryDelayMs(n)));
      await this.flushAll();
    }
    for (const p of this.entries.values()) {
      const e = await p.catch(() => undefined);
      if (!e) continue;
      if (e.unloadTimer) clearTimeout(e.unloadTimer);
      if (e.store.unsaved) console.error(`[yjs] ${e.doc.name}: could not be stored before shutdown; edits that did not reach storage are lost`);
      e.store.cancel();
      e.doc.destroy();
    }
    this.entries.clear();
    this.wss.close();
  }
}


/** The subprotocols of a `Sec-WebSocket-Protocol` header (ws itself refuses a malformed one with a 400). */
function parseProtocols(header: string | undefined): string[] {
  return header ? header.split(',').map((p) => p.trim()) : [];
}

/**
 * The Yjs document's append-only update log (durability between debounced stores): every update applied to a
 * loaded document is logged at once, a store writes the state and deletes what it covers, loading applies the
 * state then the log, a failed append is not fatal, and the SQLite file is in WAL mode.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import Database from 'better-sqlite3';
import { migrateDatabase } from '../../server/db/migrate.js';
import { PrismaRoomStore } from '../../server/rooms/prisma-room-store.js';
import { roomDocHooks } from '../../server/rooms/room-doc-hooks.js';
import type { RoomStore } from '../../server/rooms/room-store.js';
import { DocServer } from '../../server/yjs/doc-server.js';
import { addMaskStroke, addPoint, movePoint, readMask, readPoints, readSettings, updateSettings } from '../../contract/room-doc.js';
import { tempDir, user } from './helpers.js';

const NEVER = 3_600_000;

/** A DocServer whose debounced store never fires by itself: only flushAll/close store. */
function docServer(store: RoomStore): DocServer {
  return new DocServer({ path: '/yjs', hooks: [roomDocHooks(store)], debounceMs: NEVER, maxDebounceMs: NEVER, unloadDelayMs: NEVER });
}

async function until<T>(check: () => Promise<T | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const view = (doc: Y.Doc) => ({ points: readPoints(doc), mask: readMask(doc), settings: readSettings(doc) });

function rebuilt(stored: { state: Uint8Array | null; updates: Uint8Array[] }): Y.Doc {
  const doc = new Y.Doc();
  if (stored.state) Y.applyUpdate(doc, stored.state);
  for (const u of stored.updates) Y.applyUpdate(doc, u);
  return doc;
}

describe('document update log', () => {
  const tmps: ReturnType<typeof tempDir>[] = [];
  afterEach(() => tmps.splice(0).forEach((t) => t.cleanup()));

  async function open() {
    const tmp = tempDir();
    tmps.push(tmp);
    const file = `${tmp.dir}/studio.db`;
    await migrateDatabase(file);
    const store = PrismaRoomStore.open(file);
    const room = await store.create({ title: 'log', model: 'tiny', seed: 1, latent: Float32Array.of(0), image: Uint8Array.of(1), imageType: 'image/png' });
    return { file, store, room };
  }

  it('is in WAL mode with the pragmas on the server connection', async () => {
    const { file, store } = await open();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // Per-connection settings, read back through the server's own connection.
    const prisma = (store as unknown as { prisma: { $queryRawUnsafe(sql: string): Promise<Record<string, unknown>[]> } }).prisma;
    expect(Number(Object.values((await prisma.$queryRawUnsafe('PRAGMA synchronous'))[0])[0])).toBe(1); // NORMAL
    expect(Number(Object.values((await prisma.$queryRawUnsafe('PRAGMA busy_timeout'))[0])[0])).toBe(5000);
    await store.close();
  });

  it('logs each update as it is applied, compacts on store, and loads the state then the log', async () => {
    const { file, store, room } = await open();
    const docs = docServer(store);
    const doc = await docs.acquire(room.id);
    const ann = user('ann');
    addPoint(doc, [1, 2], ann);
    addPoint(doc, [3, 4], ann);
    addMaskStroke(doc, { mode: 'flexible', radius: 3, points: [5, 5, 9, 9] });
    updateSettings(doc, { maxSteps: 7, lr: 0.005 });

    // Logged without any store: four transactions in one event-loop turn, merged into one entry; state + log
    // rebuild the document.
    const logged = await until(async () => {
      const s = await store.loadDocument(room.id);
      return s.updates.length === 1 ? s : false;
    }, 'the logged updates');
    expect(logged.state).toBeNull();
    expect(view(rebuilt(logged))).toEqual(view(doc));

    // A store writes the state and deletes the entries it covers.
    await docs.flushAll();
    const compacted = await store.loadDocument(room.id);
    expect(compacted.updates).toEqual([]);
    expect(compacted.lastUpdateId).toBe(0);
    expect(view(rebuilt(compacted))).toEqual(view(doc));

    // After compaction the log starts again, with ids still growing (AUTOINCREMENT: a store's "ids <= n"
    // never reaches an entry appended after it).
    movePoint(doc, readPoints(doc)[0].id, 'handle', [6, 6]);
    const again = await until(async () => {
      const s = await store.loadDocument(room.id);
      return s.updates.length === 1 ? s : false;
    }, 'the next logged update');
    expect(again.lastUpdateId).toBeGreaterThan(logged.lastUpdateId);
    expect(again.state).not.toBeNull();
    expect(view(rebuilt(again))).toEqual(view(doc));
    const expected = view(doc);
    docs.release(doc);

    // A server that dies before its next store: nothing flushes, the connection is simply dropped. Another
    // server on the same file loads state + log.
    const store2 = PrismaRoomStore.open(file);
    const docs2 = docServer(store2);
    const doc2 = await docs2.acquire(room.id);
    expect(view(doc2)).toEqual(expected);
    // Its first store covers the entries it loaded.
    updateSettings(doc2, { lambda: 3 });
    await until(async () => ((await store2.loadDocument(room.id)).updates.length === 2 ? true : false), 'the new update logged');
    await docs2.flushAll();
    expect((await store2.loadDocument(room.id)).updates).toEqual([]);
    docs2.release(doc2);
    await docs2.close();
    await store2.close();
    await docs.close();
    await store.close();
  });

  it('keeps editing when an append fails (the next full store has the update)', async () => {
    const { store, room } = await open();
    let failing = true;
    const flaky: RoomStore = Object.create(store);
    flaky.appendDocumentUpdate = (id, update) => (failing ? Promise.reject(new Error('disk full')) : store.appendDocumentUpdate(id, update));
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const docs = docServer(flaky);
      const doc = await docs.acquire(room.id);
      addPoint(doc, [1, 1], user('ann'));
      await until(async () => errors.length > 0 || false, 'the failure to be logged');
      expect(String(errors[0][0])).toMatch(/could not append/);
      failing = false;
      addPoint(doc, [2, 2], user('ann'));
      await until(async () => ((await store.loadDocument(room.id)).updates.length === 1 ? true : false), 'the second update logged');
      await docs.flushAll();
      const stored = await store.loadDocument(room.id);
      expect(stored.updates).toEqual([]);
      expect(readPoints(rebuilt(stored))).toEqual(readPoints(doc));
      docs.release(doc);
      await docs.close();
    } finally {
      console.error = original;
      await store.close();
    }
  });

  it('measures what an append costs', async () => {
    const { store, room } = await open();
    const docs = docServer(store);
    const doc = await docs.acquire(room.id);
    const id = addPoint(doc, [0, 0], user('ann')).id;
    await until(async () => ((await store.loadDocument(room.id)).updates.length === 1 ? true : false), 'the first update');
    const n = 300;
    // As peers send them: one update per event-loop turn, each appended on its own.
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      movePoint(doc, id, 'handle', [i % 32, (i * 7) % 32]);
      await new Promise((r) => setImmediate(r));
    }
    const perEdit = (performance.now() - t0) / n;
    expect((await store.loadDocument(room.id)).updates.length).toBe(n + 1);
    // A burst in one turn is one merged entry.
    const t1 = performance.now();
    for (let i = 0; i < n; i++) movePoint(doc, id, 'handle', [i % 32, (i * 5) % 32]);
    // A store first waits for the appends under way.
    await docs.flushAll();
    const burst = performance.now() - t1;
    expect((await store.loadDocument(room.id)).updates).toEqual([]);
    console.log(
      `[numbers] update log: ${perEdit.toFixed(3)} ms per edit applied and appended one per turn; ` +
        `a burst of ${n} edits merged, appended and stored in ${burst.toFixed(1)} ms`,
    );
    docs.release(doc);
    await docs.close();
    await store.close();
  });
});

/**
 * Seeded fuzz, tldraw/Yjs style: editors make random edits through the real server while dropping and
 * re-opening their connections; afterwards every replica, and a fresh one loaded from the server, match.
 * A failing seed is printed; add it to SEEDS to keep it as a regression case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMaskStroke, addPoint, clearMask, clearPoints, movePoint, readMask, readPoints, readSettings, undoLastPoint, updateSettings } from '../../server/protocol/room-doc.js';
import type { StudioServer } from '../../server/studio-server.js';
import { connectYjs, createRoom, startTestServer, tempDir, waitFor, type YClient } from './helpers.js';
import { mulberry32 } from '../../training/faces/prng.js';

// FUZZ_SEEDS=n runs n more random seeds locally (CI keeps the fixed ones).
const SEEDS = [1, 2, 3, ...Array.from({ length: Number(process.env.FUZZ_SEEDS ?? 0) }, () => Math.floor(Math.random() * 1e9))];
const OPS = 60;

const state = (c: YClient) => JSON.stringify([readPoints(c.doc), readMask(c.doc), readSettings(c.doc)]);

describe('shared document fuzz', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: StudioServer;
  beforeAll(async () => {
    tmp = tempDir();
    server = await startTestServer(`${tmp.dir}/studio.db`);
  });
  afterAll(async () => {
    await server.close();
    tmp.cleanup();
  });

  for (const seed of SEEDS) {
    it(`replicas converge (seed ${seed})`, async () => {
      const rnd = mulberry32(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const room = await createRoom(server.url);
      const clients = await Promise.all([0, 1, 2].map(() => connectYjs(server.url, room.roomId, room.editToken)));
      const users = clients.map((_, i) => ({ id: `u${i}`, name: `user${i}`, color: '#123456' }));
      try {
        for (let k = 0; k < OPS; k++) {
          const i = int(clients.length);
          const { doc, provider } = clients[i];
          const r = rnd();
          if (r < 0.1) {
            if (provider.wsconnected) provider.disconnect();
            else provider.connect();
          } else if (r < 0.4) addPoint(doc, [int(32), int(32)], users[i]);
          else if (r < 0.55) {
            const pts = readPoints(doc);
            if (pts.length) movePoint(doc, pts[int(pts.length)].id, rnd() < 0.5 ? 'handle' : 'target', [int(32), int(32)]);
          } else if (r < 0.62) undoLastPoint(doc);
          else if (r < 0.65) clearPoints(doc);
          else if (r < 0.8) addMaskStroke(doc, { mode: rnd() < 0.7 ? 'flexible' : 'fixed', radius: 1 + int(5), points: [int(32), int(32), int(32), int(32)] });
          else if (r < 0.83) clearMask(doc);
          else updateSettings(doc, { maxSteps: 1 + int(200), method: rnd() < 0.5 ? 'draggan' : 'stabledrag' });
          if (rnd() < 0.3) await new Promise((res) => setTimeout(res, int(15)));
        }
        for (const c of clients) if (!c.provider.wsconnected) c.provider.connect();
        await waitFor(() => clients.every((c) => c.provider.synced) && new Set(clients.map(state)).size === 1, `convergence of seed ${seed}`, 15_000);
        const fresh = await connectYjs(server.url, room.roomId, room.viewToken);
        expect(state(fresh), `seed ${seed}: a fresh replica matches`).toBe(state(clients[0]));
        fresh.destroy();
      } finally {
        clients.forEach((c) => c.destroy());
      }
    });
  }
});

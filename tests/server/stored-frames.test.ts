/**
 * Compact run storage (runs/stored-frames.ts) through a real server: every step keeps its latent, only every
 * k-th step (and the last) its lossless frame; the frames in between, rendered again from their latents by a
 * worker, are byte for byte what the run broadcast and what storing them would have kept. A room whose model
 * the server no longer offers keeps its size and its stored frames, and refuses the rest plainly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { HistoryStep, RoomState, RunEnded, RunFrame } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { storedFrameEvery, storesFrame } from '../../server/runs/stored-frames.js';
import { call, connectSocket, connectYjs, startTestServer, tempDir, user, waitFor, type ClientSocket } from './helpers.js';
import { writeRandomModel } from './random-models.js';

const SIZE = { width: 256, height: 256 };
const STEPS = 9;

describe('stored frames policy', () => {
  it('keeps every frame up to 128 px and fewer as images grow', () => {
    expect([32, 64, 128].map((n) => storedFrameEvery({ width: n, height: n }))).toEqual([1, 1, 1]);
    expect(storedFrameEvery({ width: 256, height: 256 })).toBe(4);
    expect(storedFrameEvery({ width: 256, height: 512 })).toBe(8);
    expect(storedFrameEvery({ width: 512, height: 512 })).toBe(16);
    expect(storedFrameEvery({ width: 1024, height: 1024 })).toBe(64);
    expect([0, 1, 4, 5, 8].map((s) => storesFrame(s, 4))).toEqual([true, false, true, false, true]);
  });
});

describe('runs store latents and every k-th frame', () => {
  const tmp = tempDir();
  let modelPath: string;
  let server: StudioServer;
  const sockets: ClientSocket[] = [];
  const cleanups: (() => void)[] = [];
  let room: { roomId: string; editToken: string; viewToken: string };
  let runId: string;
  const frames: RunFrame[] = [];

  const start = async (models: { id: string; label: string; path: string }[]) => {
    server = await startTestServer(`${tmp.dir}/studio.db`, { models });
  };
  const socket = async () => {
    const s = await connectSocket(server.url);
    sockets.push(s);
    return s;
  };
  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  const pixels = (b: Uint8Array | ArrayBuffer) => sharp(Buffer.from(b as Uint8Array)).removeAlpha().raw().toBuffer();

  beforeAll(async () => {
    modelPath = writeRandomModel({ resolution: SIZE.height }, tmp.dir);
    await start([{ id: 'm256', label: 'm256', path: modelPath }]);
    const s = await socket();
    room = await call(s, 'room:create', { title: 'storage', model: 'm256', seed: 11 });
    const y = await connectYjs(server.url, room.roomId, room.editToken);
    cleanups.push(y.destroy);
    addPoint(y.doc, [60, 60], user('ann'));
    addPoint(y.doc, [200, 190], user('ann'));
    updateSettings(y.doc, { lr: 0.002, maxSteps: STEPS });
    await new Promise((r) => setTimeout(r, 150));
    const ended: RunEnded[] = [];
    s.on('run:frame', (f, ack) => {
      frames.push(f);
      ack();
    });
    s.on('run:ended', (e) => ended.push(e));
    await call<{ state: RoomState }>(s, 'room:join', { token: room.editToken, user: user('ann') });
    runId = (await call<{ runId: string }>(s, 'run:start')).runId;
    await waitFor(() => ended.length > 0, 'the run to end', 120_000);
    expect(ended[0]).toMatchObject({ reason: 'max-steps', steps: STEPS });
  }, 180_000);

  afterAll(async () => {
    for (const c of cleanups) c();
    for (const s of sockets) s.disconnect();
    await server?.close();
    tmp.cleanup();
  });

  it('stores a latent for every step and a lossless frame for every 4th step at 256 px and the last', async () => {
    const stored = await server.store.listSteps(runId);
    expect(stored.map((s) => s.step)).toEqual(Array.from({ length: STEPS + 1 }, (_, i) => i));
    expect(stored.filter((s) => s.frame).map((s) => s.step)).toEqual([0, 4, 8, STEPS]);
    expect(stored.every((s) => s.latent.length === stored[0].latent.length)).toBe(true);
    expect(stored.at(-1)!.frameType).toBe('image/png');
  });

  it('renders a dropped frame again byte for byte: as broadcast, and as it would have been stored', async () => {
    const stored = await server.store.listSteps(runId);
    const live = frames.filter((f) => !f.final);
    expect(live.length).toBeGreaterThan(0);
    for (const f of live) {
      // The broadcast frame (lossy WebP, the server's frame format and quality) from the step's latent alone.
      const again = await server.jobs.render({ modelPath, latent: stored[f.step].latent, format: 'webp' });
      expect(Buffer.from(again.image.bytes).equals(Buffer.from(f.image.bytes as ArrayBuffer)), `step ${f.step}`).toBe(true);
    }
    for (const s of stored.filter((st) => st.frame && st.frameType === 'image/webp')) {
      const again = await server.jobs.render({ modelPath, latent: s.latent, format: 'webp-lossless' });
      expect(Buffer.from(again.image.bytes).equals(Buffer.from(s.frame!)), `step ${s.step}`).toBe(true);
    }
    const last = stored.at(-1)!;
    const lastAgain = await server.jobs.render({ modelPath, latent: last.latent, format: 'png' });
    expect((await pixels(lastAgain.image.bytes)).equals(await pixels(last.frame!))).toBe(true);
    // What a viewer gets for a step without a stored frame is that same rendering.
    const s = await socket();
    await call(s, 'room:join', { token: room.viewToken, user: user('bob') });
    const { step } = await call<{ step: HistoryStep }>(s, 'history:step', { runId, step: 3 });
    const want = await server.jobs.render({ modelPath, latent: stored[3].latent, format: 'webp-lossless' });
    expect(Buffer.from(step.image.bytes as ArrayBuffer).equals(Buffer.from(want.image.bytes))).toBe(true);
    expect({ width: step.image.width, height: step.image.height }).toEqual(SIZE);
  });

  it('without its model a room keeps its size and stored frames, and says why the others cannot be shown', async () => {
    await server.close();
    await start([]);
    const s = await socket();
    const { state } = await call<{ state: RoomState }>(s, 'room:join', { token: room.viewToken, user: user('bob') });
    expect({ width: state.room.width, height: state.room.height }).toEqual(SIZE);
    const kept = await call<{ step: HistoryStep }>(s, 'history:step', { runId, step: 4 });
    expect({ width: kept.step.image.width, height: kept.step.image.height }).toEqual(SIZE);
    await expect(call(s, 'history:step', { runId, step: 3 })).rejects.toMatchObject({ code: 'model-unavailable' });
    await expect(call(s, 'history:fork', { runId, step: 4 })).rejects.toMatchObject({ code: 'model-unavailable' });

    expect((await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/0/frame.png`)).status).toBe(200);
    expect((await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/${STEPS}/frame.png`)).status).toBe(200);
    const missing = await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/3/frame.png`);
    expect(missing.status).toBe(409);
    expect(missing.body.toString()).toMatch(/model m256 is not available on this server/);
    expect((await get(`/api/rooms/${room.viewToken}/runs/${runId}/animation.gif`)).status).toBe(409);
    const dragbench = await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/original.png`);
    expect(dragbench.status).toBe(200);
    expect((await sharp(dragbench.body).metadata()).width).toBe(SIZE.width);

    // A run cannot start either: it is refused with the same error before anything is queued.
    const editor = await socket();
    await call(editor, 'room:join', { token: room.editToken, user: user('ann') });
    await expect(call(editor, 'run:start')).rejects.toMatchObject({ code: 'model-unavailable' });
  });
});

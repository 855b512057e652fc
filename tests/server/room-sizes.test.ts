/**
 * Rooms at 256, 512 and 1024 px and non-square (StyleGAN-Human's 512 x 256 layout, native and padded to a
 * square), end to end through a real server, worker pool, engine and SQLite file: the model list and room
 * state carry width x height, points are bounded per axis, a brush radius is in image pixels, frames, replayed
 * steps, forks and every export come at the room's size, and undo works. Random models with tiny channels
 * (random-models.ts) keep even 1024 px cheap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { addMaskStroke, addPoint, pointsOf, readPoints, updateSettings } from '../../contract/room-doc.js';
import type { HistoryStep, ImageSize, ModelInfo, Point, RoomState, RunEnded, RunFrame } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { storedFrameEvery } from '../../server/runs/stored-frames.js';
import { call, connectSocket, connectYjs, nextClose, startTestServer, tempDir, user, waitFor, type ClientSocket } from './helpers.js';
import { writeRandomModel, type RandomModelSpec } from './random-models.js';
import * as Y from 'yjs';

interface Case {
  id: string;
  spec: RandomModelSpec;
  size: ImageSize;
}

const CASES: Case[] = [
  { id: 'sq256', spec: { resolution: 256 }, size: { width: 256, height: 256 } },
  { id: 'sq512', spec: { resolution: 512 }, size: { width: 512, height: 512 } },
  { id: 'sq1024', spec: { resolution: 1024 }, size: { width: 1024, height: 1024 } },
  { id: 'human-native', spec: { resolution: 512, width: 256 }, size: { width: 256, height: 512 } },
  { id: 'human-padded', spec: { resolution: 512, width: 256, padToSquare: true }, size: { width: 512, height: 512 } },
];

const dims = async (bytes: Uint8Array | ArrayBuffer | Buffer) => {
  const m = await sharp(Buffer.from(bytes as Uint8Array)).metadata();
  return { width: m.width, height: m.height };
};

describe('rooms at every size', () => {
  const tmp = tempDir();
  let server: StudioServer;
  const sockets: ClientSocket[] = [];
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    const models = CASES.map((c) => ({ id: c.id, label: c.id, path: writeRandomModel(c.spec, tmp.dir) }));
    server = await startTestServer(`${tmp.dir}/studio.db`, { models });
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups) c();
    for (const s of sockets) s.disconnect();
    await server?.close();
    tmp.cleanup();
  });

  const socket = async () => {
    const s = await connectSocket(server.url);
    sockets.push(s);
    return s;
  };
  const yjs = async (roomId: string, token: string) => {
    const c = await connectYjs(server.url, roomId, token);
    cleanups.push(c.destroy);
    return c;
  };
  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  };

  it('lists every model with its presented width and height', async () => {
    const s = await socket();
    const { models } = await call<{ models: ModelInfo[] }>(s, 'models:list');
    for (const c of CASES) expect(models.find((m) => m.id === c.id)).toMatchObject({ id: c.id, label: c.id, architecture: 'stylegan2-ada', ...c.size });
  });

  it.each(CASES)('$id: create, edge points, brush in image px, run, frames, replay, fork, exports, undo', async ({ id, size }) => {
    const { width: W, height: H } = size;
    const s = await socket();
    const room = await call<{ roomId: string; editToken: string; viewToken: string }>(s, 'room:create', { title: id, model: id, seed: 7 });
    const frames: RunFrame[] = [];
    const ended: RunEnded[] = [];
    s.on('run:frame', (f, ack) => {
      frames.push(f);
      ack();
    });
    s.on('run:ended', (e) => ended.push(e));
    const { state } = await call<{ state: RoomState }>(s, 'room:join', { token: room.editToken, user: user('ann') });
    expect({ width: state.room.width, height: state.room.height }).toEqual(size);
    expect({ width: state.image.width, height: state.image.height }).toEqual(size);
    expect(await dims(state.image.bytes as ArrayBuffer)).toEqual(size);

    // Points near the right and bottom edges are inside; past either edge (checked per axis) is refused.
    const y = await yjs(room.roomId, room.editToken);
    const handle: Point = [W - 4, H - 3];
    const target: Point = [W - 12, H - 9];
    addPoint(y.doc, handle, user('ann'));
    addPoint(y.doc, target, user('ann'));
    // A 20 px brush is 20 image pixels whatever the size: a dab in the middle of the image.
    const centre: Point = [Math.round(W / 2), Math.round(H / 2)];
    addMaskStroke(y.doc, { mode: 'flexible', radius: 20, points: centre, by: 'ann' }, { size });
    addMaskStroke(y.doc, { mode: 'flexible', radius: 6, points: [W - 4, H - 3], by: 'ann' }, { size });
    updateSettings(y.doc, { lr: 0.01, maxSteps: 2 });
    for (const bad of [[W + 1, Math.min(H, W) - 1], [Math.min(H, W) - 1, H + 1]] as Point[]) {
      const attacker = await yjs(room.roomId, room.editToken);
      const closed = nextClose(attacker.provider);
      const m = new Y.Map<unknown>();
      m.set('id', `bad-${bad.join('-')}`);
      m.set('handle', bad);
      m.set('target', null);
      m.set('by', null);
      pointsOf(attacker.doc).push([m]);
      expect((await closed).reason).toMatch(/outside the image/);
    }
    await waitFor(() => readPoints(y.doc).length === 1, 'the points to sync');
    await new Promise((r) => setTimeout(r, 100));

    const { runId } = await call<{ runId: string }>(s, 'run:start');
    await waitFor(() => ended.length > 0, 'the run to end', 120_000);
    expect(ended[0].reason === 'error' ? ended[0].error : null).toBeNull();
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      expect({ width: f.image.width, height: f.image.height }).toEqual(size);
      expect(await dims(f.image.bytes as ArrayBuffer)).toEqual(size);
    }

    // Only the steps the policy picks keep a frame, plus the last; the others are rendered again on request.
    const stored = await server.store.listSteps(runId);
    const every = storedFrameEvery(size);
    for (const st of stored) expect(!!st.frame, `step ${st.step}`).toBe(st.step % every === 0 || st.step === stored.length - 1);
    for (const n of stored.map((st) => st.step)) {
      const { step } = await call<{ step: HistoryStep }>(s, 'history:step', { runId, step: n });
      expect({ width: step.image.width, height: step.image.height }).toEqual(size);
      expect(await dims(step.image.bytes as ArrayBuffer)).toEqual(size);
    }

    // Exports at the room's size.
    const png = await get(`/api/rooms/${room.viewToken}/runs/${runId}/steps/1/frame.png`);
    expect(png.status).toBe(200);
    expect(await dims(png.body)).toEqual(size);
    const anim = await get(`/api/rooms/${room.viewToken}/runs/${runId}/animation.webp`);
    expect(anim.status).toBe(200);
    const meta = await sharp(anim.body, { animated: true }).metadata();
    // The encoder merges a frame identical to the one before it, so there may be fewer pages than steps.
    expect({ width: meta.width, height: meta.pageHeight ?? meta.height }).toEqual(size);
    expect(meta.pages ?? 1).toBeLessThanOrEqual(stored.length);
    expect(await dims((await get(`/api/rooms/${room.viewToken}/image`)).body)).toEqual(size);
    expect(await dims((await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/original.png`)).body)).toEqual(size);
    const points = JSON.parse((await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/points.json`)).body.toString());
    expect(points).toEqual({ points: [handle, target] });
    const mask = PNG.sync.read((await get(`/api/rooms/${room.viewToken}/runs/${runId}/dragbench/mask.png`)).body);
    expect({ width: mask.width, height: mask.height }).toEqual(size);
    const at = (x: number, yy: number) => mask.data[(yy * W + x) * 4];
    expect([at(centre[0] + 20, centre[1]), at(centre[0] + 21, centre[1]), at(centre[0], centre[1] - 20), at(centre[0], centre[1] - 21)]).toEqual([255, 0, 255, 0]);
    expect(at(W - 1, H - 1)).toBe(255);
    expect(at(0, 0)).toBe(0);
    const nowMask = PNG.sync.read((await get(`/api/rooms/${room.viewToken}/dragbench/mask.png`)).body);
    expect({ width: nowMask.width, height: nowMask.height }).toEqual(size);

    // Fork at a step that kept only its latent: the new room has the same size and that step's frame.
    const fork = await call<{ roomId: string; editToken: string }>(s, 'history:fork', { runId, step: 1 });
    const s2 = await socket();
    const forked = (await call<{ state: RoomState }>(s2, 'room:join', { token: fork.editToken, user: user('bob') })).state;
    expect({ width: forked.room.width, height: forked.room.height }).toEqual(size);
    const { step: one } = await call<{ step: HistoryStep }>(s, 'history:step', { runId, step: 1 });
    const raw = (b: Uint8Array | ArrayBuffer) => sharp(Buffer.from(b as Uint8Array)).removeAlpha().raw().toBuffer();
    expect((await raw(forked.image.bytes as ArrayBuffer)).equals(await raw(one.image.bytes as ArrayBuffer))).toBe(true);

    // Undo goes back to the room's first image, at its size.
    const before = await raw(state.image.bytes as ArrayBuffer);
    await call(s, 'history:undo');
    const after = await get(`/api/rooms/${room.viewToken}/image`);
    expect(await dims(after.body)).toEqual(size);
    expect((await raw(after.body)).equals(before)).toBe(true);
  }, 180_000);
});

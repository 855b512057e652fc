/**
 * The models directory through a real server and real Socket.IO clients: the list the room creator sees
 * (sizes, file size, unavailable models with reasons), rescans picking up added and removed models, and a
 * room whose model vanished: still open for points and history, refusing runs and previews with
 * `model-unavailable`, while another room keeps dragging.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelInfo, RunEnded, UnavailableModel } from '../../contract/events.js';
import { addPoint, readPoints, updateSettings } from '../../contract/room-doc.js';
import { RESCAN_MIN_INTERVAL_MS } from '../../server/rooms/model-registry.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, startTestServer, TINY_MODEL, TINY_MODEL_ID, tempDir, user, waitFor, type ClientSocket } from './helpers.js';

const BUNDLED = resolve(import.meta.dirname, '../../models/faces128/model.safetensors');
type List = { models: ModelInfo[]; unavailable: UnavailableModel[] };

/** The bundled model without copying 6.5 MB where the file system allows a hard link. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

describe('models directory on a running server', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: StudioServer;
  let socket: ClientSocket;
  const logs: string[] = [];
  const modelsDir = () => join(tmp.dir, 'models');
  const install = (id: string, from: string) => {
    mkdirSync(join(modelsDir(), id), { recursive: true });
    linkOrCopy(from, join(modelsDir(), id, 'model.safetensors'));
  };
  const rescan = async () => {
    // Rescans within a second share one scan: wait so this one reads the disk.
    await new Promise((ok) => setTimeout(ok, RESCAN_MIN_INTERVAL_MS));
    return call<List>(socket, 'models:rescan');
  };

  beforeAll(async () => {
    tmp = tempDir();
    install('faces', BUNDLED);
    install('doomed', TINY_MODEL);
    mkdirSync(join(modelsDir(), 'broken'));
    writeFileSync(join(modelsDir(), 'broken', 'model.safetensors'), Buffer.from('not a model at all, just text'));
    server = await startTestServer(join(tmp.dir, 'studio.db'), { modelsDir: modelsDir(), log: (l) => logs.push(l) });
    socket = await connectSocket(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    tmp?.cleanup();
  });

  it('lists each model with its size, file size and architecture, and the broken one with its reason', async () => {
    const list = await call<List>(socket, 'models:list');
    expect(list.models.map((m) => m.id)).toEqual([TINY_MODEL_ID, 'doomed', 'faces']);
    expect(list.models.find((m) => m.id === 'faces')).toEqual({
      id: 'faces', label: 'faces128', width: 128, height: 128, domain: 'faces', kind: 'gan', architecture: 'stylegan2-ada', fileBytes: readFileSync(BUNDLED).length,
    });
    expect(list.unavailable).toEqual([{ id: 'broken', reason: expect.stringMatching(/not a safetensors file/) }]);
    expect(logs.filter((l) => l.startsWith('[models] broken unavailable: not a safetensors file'))).toHaveLength(1);
    await expect(call(socket, 'seed:preview', { model: 'broken', seed: 1 })).rejects.toMatchObject({
      code: 'model-unavailable', message: expect.stringMatching(/model broken is not available on this server: not a safetensors file/),
    });
    await expect(call(socket, 'seed:preview', { model: 'nonexistent', seed: 1 })).rejects.toMatchObject({ code: 'invalid' });
  });

  it('rescan offers a model added after start', async () => {
    install('late', TINY_MODEL);
    expect((await call<List>(socket, 'models:list')).models.map((m) => m.id)).not.toContain('late');
    const list = await rescan();
    expect(list.models.map((m) => m.id)).toContain('late');
    // The new model renders.
    const { image } = await call<{ image: { width: number } }>(socket, 'seed:preview', { model: 'late', seed: 1 });
    expect(image.width).toBe(32);
  });

  it('a model file replaced on disk is served with its new weights after a rescan, not from any cache', async () => {
    install('swap', TINY_MODEL);
    await rescan();
    const before = await call<{ image: { bytes: ArrayBuffer } }>(socket, 'seed:preview', { model: 'swap', seed: 4 });
    // The same header with every weight negated: a different model with the same size.
    const bytes = readFileSync(TINY_MODEL);
    const body = 8 + Number(bytes.readBigUInt64LE(0));
    for (let i = body + 3; i < bytes.length; i += 4) bytes[i] ^= 0x80;
    const file = join(modelsDir(), 'swap', 'model.safetensors');
    rmSync(file);
    writeFileSync(file, bytes);
    await rescan();
    const after = await call<{ image: { bytes: ArrayBuffer } }>(socket, 'seed:preview', { model: 'swap', seed: 4 });
    expect(Buffer.from(after.image.bytes).equals(Buffer.from(before.image.bytes))).toBe(false);
  });

  it('runs queued before their model went away end with model-unavailable and record nothing', async () => {
    install('fleeting', TINY_MODEL);
    await rescan();
    const blocker = await call<{ roomId: string; editToken: string }>(socket, 'room:create', { title: 'blocker', model: TINY_MODEL_ID, seed: 3 });
    const fleeting = await call<{ roomId: string; editToken: string }>(socket, 'room:create', { title: 'fleeting', model: 'fleeting', seed: 3 });
    const yb = await connectYjs(server.url, blocker.roomId, blocker.editToken);
    const yf = await connectYjs(server.url, fleeting.roomId, fleeting.editToken);
    const b = await connectSocket(server.url);
    const f = await connectSocket(server.url);
    try {
      for (const y of [yb, yf]) {
        addPoint(y.doc, [8, 8], user('ann'));
        addPoint(y.doc, [24, 20], user('ann'));
      }
      // The blocker's run holds the only worker until it is stopped.
      updateSettings(yb.doc, { lr: 0.0001, maxSteps: 1000 });
      await new Promise((r) => setTimeout(r, 150));
      const ended: RunEnded[] = [];
      f.on('run:ended', (e) => ended.push(e));
      for (const s of [b, f]) s.on('run:frame', (_frame, ack) => ack());
      await call(b, 'room:join', { token: blocker.editToken, user: user('bob') });
      await call(f, 'room:join', { token: fleeting.editToken, user: user('ann') });
      await call(b, 'run:start');
      const first = await call<{ runId: string }>(f, 'run:start');
      const second = await call<{ runId: string }>(f, 'run:start');

      rmSync(join(modelsDir(), 'fleeting'), { recursive: true });
      await rescan();
      await call(b, 'run:stop');
      await waitFor(() => ended.length === 2, 'both fleeting runs to end', 60_000);
      // Both waited in the run queue for the only worker, so neither had taken its snapshot or been recorded.
      const unavailable = { code: 'model-unavailable', message: 'model fleeting is not available on this server: it was removed from the models directory' };
      expect(ended).toMatchObject([
        { runId: first.runId, reason: 'error', steps: 0, error: unavailable },
        { runId: second.runId, reason: 'error', steps: 0, error: unavailable },
      ]);
      const page = await call<{ runs: { runId: string }[] }>(f, 'history:list', {});
      expect(page.runs).toEqual([]);
    } finally {
      b.disconnect();
      f.disconnect();
      yb.destroy();
      yf.destroy();
    }
  });

  it('a room whose model vanished still opens for points and history, but runs and previews answer model-unavailable', async () => {
    const doomed = await call<{ roomId: string; editToken: string }>(socket, 'room:create', { title: 'doomed', model: 'doomed', seed: 2 });
    const healthy = await call<{ roomId: string; editToken: string }>(socket, 'room:create', { title: 'healthy', model: TINY_MODEL_ID, seed: 2 });
    const yd = await connectYjs(server.url, doomed.roomId, doomed.editToken);
    const yh = await connectYjs(server.url, healthy.roomId, healthy.editToken);
    try {
      addPoint(yd.doc, [8, 8], user('ann'));
      addPoint(yd.doc, [14, 10], user('ann'));
      addPoint(yh.doc, [10, 10], user('ann'));
      addPoint(yh.doc, [16, 14], user('ann'));
      await new Promise((r) => setTimeout(r, 150));

      rmSync(join(modelsDir(), 'doomed'), { recursive: true });
      const list = await rescan();
      expect(list.models.map((m) => m.id)).not.toContain('doomed');
      expect(list.unavailable).toContainEqual({ id: 'doomed', reason: 'it was removed from the models directory' });
      expect(logs.filter((l) => l === '[models] doomed unavailable: it was removed from the models directory')).toHaveLength(1);

      // Another room's drag runs while the doomed room is refused.
      const other = await connectSocket(server.url);
      const ended: RunEnded[] = [];
      other.on('run:ended', (e) => ended.push(e));
      other.on('run:frame', (_f, ack) => ack());
      await call(other, 'room:join', { token: healthy.editToken, user: user('bob') });
      await call(other, 'run:start');

      const { state } = await call<{ state: { room: { roomId: string; width: number; height: number } } }>(socket, 'room:join', { token: doomed.editToken, user: user('ann') });
      expect(state.room).toMatchObject({ roomId: doomed.roomId, width: 32, height: 32 });
      const page = await call<{ total: number }>(socket, 'history:list', {});
      expect(page.total).toBe(0);
      // Points still edit: a third point reaches another client of the room.
      addPoint(yd.doc, [20, 20], user('ann'));
      const peer = await connectYjs(server.url, doomed.roomId, doomed.editToken);
      try {
        await waitFor(() => readPoints(peer.doc).length === 2, 'the new point at a second client');
      } finally {
        peer.destroy();
      }
      const message = 'model doomed is not available on this server: it was removed from the models directory';
      await expect(call(socket, 'run:start')).rejects.toMatchObject({ code: 'model-unavailable', message: `run:start: model-unavailable: ${message}` });
      await expect(call(socket, 'seed:preview', { model: 'doomed', seed: 1 })).rejects.toMatchObject({ code: 'model-unavailable' });
      await expect(call(socket, 'room:create', { title: 'x', model: 'doomed', seed: 1 })).rejects.toMatchObject({ code: 'model-unavailable' });

      await waitFor(() => ended.length > 0, 'the healthy room run to end', 60_000);
      expect(['reached', 'max-steps']).toContain(ended[0].reason);
      other.disconnect();

      // Put back, it works again.
      install('doomed', TINY_MODEL);
      expect((await rescan()).models.map((m) => m.id)).toContain('doomed');
      await call(socket, 'room:join', { token: doomed.editToken, user: user('ann') });
      const started = await call<{ runId: string }>(socket, 'run:start');
      expect(started.runId).toBeTruthy();
      await call(socket, 'run:stop');
    } finally {
      yd.destroy();
      yh.destroy();
    }
  });
});

describe('npm start with STABLEDRAG_MODELS in the old list form', () => {
  it('refuses to start, saying what to do instead', () => {
    const tmp = tempDir();
    try {
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
        cwd: resolve(import.meta.dirname, '../..'),
        env: { ...process.env, STABLEDRAG_MODELS: `faces=${BUNDLED}`, STABLEDRAG_DATA_DIR: tmp.dir, PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(res.status).toBe(2);
      expect(res.stderr).toContain('[studio] cannot start: STABLEDRAG_MODELS is a directory now, not a list of id=path: put each model in <dir>/<id>/model.safetensors');
    } finally {
      tmp.cleanup();
    }
  });
});

describe('an empty models directory', () => {
  it('offers nothing, reports nothing, and rescans count against the message rate like any request', async () => {
    const tmp = tempDir();
    mkdirSync(join(tmp.dir, 'models'));
    const server = await startTestServer(join(tmp.dir, 'studio.db'), {
      models: [], modelsDir: join(tmp.dir, 'models'),
      limits: { socketMessagesPerSecond: 2, socketMessageBurst: 4, requestsInFlight: 100 },
    });
    const socket = await connectSocket(server.url);
    try {
      expect(await call<List>(socket, 'models:list')).toMatchObject({ models: [], unavailable: [] });
      const raw = socket as unknown as { emitWithAck(e: string): Promise<{ ok: boolean; error?: { code: string } }> };
      const replies = await Promise.all(Array.from({ length: 6 }, () => raw.emitWithAck('models:rescan')));
      expect(replies.filter((r) => r.ok)).toHaveLength(3);
      expect(replies.filter((r) => !r.ok).map((r) => r.error!.code)).toEqual(['limit', 'limit', 'limit']);
    } finally {
      socket.disconnect();
      await server.close();
      tmp.cleanup();
    }
  });
});

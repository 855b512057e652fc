/**
 * Measured step times in the model list: from a real run's steps, from the idle measurement when it is on,
 * kept in the database across a restart, and forgotten when the model file is replaced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelInfo, RunEnded } from '../../contract/events.js';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { StudioServer, StudioServerOptions } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, startTestServer, TINY_MODEL, tempDir, user, waitFor, type ClientSocket } from './helpers.js';

describe('measured step times', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let server: StudioServer | undefined;
  let socket: ClientSocket | undefined;

  async function start(extra: Partial<StudioServerOptions> = {}) {
    socket?.disconnect();
    await server?.close();
    server = await startTestServer(join(tmp!.dir, 'studio.db'), { models: [], modelsDir: join(tmp!.dir, 'models'), ...extra });
    socket = await connectSocket(server.url);
  }
  const tiny = async () => (await call<{ models: ModelInfo[] }>(socket!, 'models:list')).models.find((m) => m.id === 'tiny');

  function setUp() {
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'models', 'tiny'), { recursive: true });
    copyFileSync(TINY_MODEL, join(tmp.dir, 'models', 'tiny', 'model.safetensors'));
  }

  afterEach(async () => {
    socket?.disconnect();
    await server?.close();
    tmp?.cleanup();
    socket = server = tmp = undefined;
  });

  it('a real run measures its model; the number survives a restart', async () => {
    setUp();
    await start();
    expect((await tiny())?.stepMs).toBeUndefined();
    const room = await call<{ roomId: string; editToken: string }>(socket!, 'room:create', { title: 't', model: 'tiny', seed: 1 });
    const y = await connectYjs(server!.url, room.roomId, room.editToken);
    try {
      addPoint(y.doc, [8, 8], user('ann'));
      addPoint(y.doc, [24, 20], user('ann'));
      updateSettings(y.doc, { maxSteps: 8, lr: 0.001 });
      await new Promise((r) => setTimeout(r, 150));
      const ended: RunEnded[] = [];
      socket!.on('run:ended', (e) => ended.push(e));
      socket!.on('run:frame', (_f, ack) => ack());
      await call(socket!, 'room:join', { token: room.editToken, user: user('ann') });
      await call(socket!, 'run:start');
      await waitFor(() => ended.length, 'the run to end', 60_000);
    } finally {
      y.destroy();
    }
    const measured = (await tiny())?.stepMs;
    expect(measured).toBeGreaterThan(0);

    await start();
    expect((await tiny())?.stepMs).toBe(measured);
  });

  it('measures an unmeasured model while the workers are idle, and forgets the number when the file is replaced', async () => {
    setUp();
    await start({ measureStepTimes: true });
    let measured: number | undefined;
    for (const t0 = Date.now(); measured === undefined && Date.now() - t0 < 60_000; await new Promise((r) => setTimeout(r, 200))) measured = (await tiny())?.stepMs;
    expect(measured).toBeGreaterThan(0);

    // Rewritten: a new modification time makes it a different file version as far as the numbers go.
    const file = join(tmp!.dir, 'models', 'tiny', 'model.safetensors');
    const bytes = readFileSync(file);
    rmSync(file);
    writeFileSync(file, bytes);
    await start();
    expect((await tiny())?.stepMs).toBeUndefined();
  });
});

/**
 * What a 100-step run at 512 px costs in the database, through a real server and SQLite file, on a random
 * model of FFHQ 512's layout (16 w vectors of 512 floats: the latent a step stores) with tiny channels so it
 * runs in test time. Each step keeps its latent; a lossless frame is kept every 16th step and at the last
 * (runs/stored-frames.ts). Prints the bytes stored and what storing every step's lossless frame would have
 * cost (those frames rendered again from the stored latents), and requires the run to stay under 10 MB.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { RunEnded } from '../../contract/events.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, startTestServer, tempDir, user, waitFor } from './helpers.js';
import { writeRandomModel } from './random-models.js';

const STEPS = 100;
// 10 MB, decimal: the stricter reading.
const LIMIT_BYTES = 10_000_000;

describe('a 100-step run at 512 px', () => {
  const tmp = tempDir();
  let server: StudioServer | undefined;
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('stores under 10 MB: latents every step, lossless frames every 16th step and the last', async () => {
    const modelPath = writeRandomModel({ resolution: 512 }, tmp.dir);
    const dbFile = `${tmp.dir}/studio.db`;
    server = await startTestServer(dbFile, { models: [{ id: 'ffhq-like', label: 'ffhq-like', path: modelPath }], limits: { maxSteps: STEPS } });
    const s = await connectSocket(server.url);
    const room = await call<{ roomId: string; editToken: string }>(s, 'room:create', { title: 'cost', model: 'ffhq-like', seed: 4 });
    const y = await connectYjs(server.url, room.roomId, room.editToken);
    // Far apart, with a small step size: the run goes all 100 steps.
    addPoint(y.doc, [100, 120], user('ann'));
    addPoint(y.doc, [420, 400], user('ann'));
    updateSettings(y.doc, { lr: 0.001, maxSteps: STEPS });
    await new Promise((r) => setTimeout(r, 150));
    const ended: RunEnded[] = [];
    s.on('run:ended', (e) => ended.push(e));
    s.on('run:frame', (_f, ack) => ack());
    await call(s, 'room:join', { token: room.editToken, user: user('ann') });
    const fileBytes = () => [dbFile, `${dbFile}-wal`].reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0);
    const before = fileBytes();
    const { runId } = await call<{ runId: string }>(s, 'run:start');
    await waitFor(() => ended.length > 0, 'the run to end', 900_000);
    expect(ended[0]).toMatchObject({ reason: 'max-steps', steps: STEPS });
    y.destroy();
    s.disconnect();

    const run = (await server.store.getRun(runId))!;
    const steps = await server.store.listSteps(runId);
    expect(steps).toHaveLength(STEPS + 1);
    const withFrame = steps.filter((st) => st.frame);
    expect(withFrame.map((st) => st.step)).toEqual([0, 16, 32, 48, 64, 80, 96, STEPS]);
    const json = (st: (typeof steps)[number]) => JSON.stringify([st.handles, st.distances, st.confidences]).length;
    const latentBytes = steps.reduce((n, st) => n + st.latent.byteLength, 0);
    const frameBytes = withFrame.reduce((n, st) => n + st.frame!.byteLength, 0);
    const trackingBytes = steps.reduce((n, st) => n + json(st), 0);
    const runRowBytes = run.latentBefore.byteLength + run.imageBefore.byteLength + (run.mask?.byteLength ?? 0);
    const stored = latentBytes + frameBytes + trackingBytes + runRowBytes;

    // The old way: a lossless frame at every step (the dropped ones rendered again, exactly as they were).
    let everyFrame = 0;
    for (const st of steps) {
      everyFrame += st.frame && st.frameType === 'image/webp'
        ? st.frame.byteLength
        : (await server.jobs.render({ modelPath, latent: st.latent, format: 'webp-lossless' })).image.bytes.byteLength;
    }
    const storedBefore = latentBytes + everyFrame + trackingBytes + runRowBytes;
    await server.close();
    server = undefined;
    const growth = fileBytes() - before;
    const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    console.log(
      `[numbers] 100-step run at 512 px (16 x 512 latent): stored ${mb(stored)} ` +
        `(latents ${mb(latentBytes)}, ${withFrame.length} lossless frames ${mb(frameBytes)}, tracking ${mb(trackingBytes)}, ` +
        `run start state ${mb(runRowBytes)}); database file grew ${mb(growth)}. ` +
        `Every step's lossless frame would store ${mb(storedBefore)} (frames ${mb(everyFrame)}, ${(everyFrame / (STEPS + 1) / 1000).toFixed(0)} KB each).`,
    );
    expect(stored).toBeLessThan(LIMIT_BYTES);
    expect(growth).toBeLessThan(LIMIT_BYTES);
  }, 900_000);
});

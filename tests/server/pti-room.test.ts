/**
 * Pivotal tuning in a room from a photo, through the real server, worker pool, engine and SQLite file: the
 * inversion's end stores the room's tuned weights; the room's image, its drags' frames and its forks draw with
 * them (checked against the engine's own applyPtiWeights render in this process); a fork from before the tuning
 * stage does not get them; deleting the room deletes them; weights that are corrupt or tuned from another
 * model end the drag with the engine's clear error and the room stays usable.
 */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import sharp from 'sharp';
import type { RoomState, RunEnded } from '../../contract/events.js';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import type { PhotoRoomCreated } from '../../contract/photo-room.js';
import { applyPtiWeights, initBackend, loadBaseModel, loadGenerator, ptiWeightsMetadata, renderImageAsync, type ImageGenerator } from '../../engine/src/index.js';
import { decodeWire, encodeWire } from '../../server/jobs/wire-codec.js';
import { call, connectSocket, connectYjs, TINY_MODEL, TINY_MODEL_ID, user, useServerFixture, waitFor, type ClientSocket } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

const SG3_MODEL = resolve(import.meta.dirname, '../fixtures/stylegan3/sg3t/model.safetensors');

/** Tiny step counts; the largest learning rate the schema allows, so three tuning steps visibly move the weights. */
const PTI = { wSteps: '4', wPlusSteps: '2', ptiSteps: '3', ptiLr: '0.01', loss: 'pixel' };

async function pixels(bytes: Uint8Array): Promise<Buffer> {
  return sharp(Buffer.from(bytes)).removeAlpha().raw().toBuffer();
}

async function rendered(gen: ImageGenerator, latent: Float32Array): Promise<Buffer> {
  const img = await renderImageAsync(gen, latent);
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 4 } })
    .removeAlpha().raw().toBuffer();
}

const meanAbsDiff = (a: Buffer, b: Buffer) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const maxAbsDiff = (a: Buffer, b: Buffer) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('pivotal tuning in a room', () => {
  const fx = useServerFixture({ per: 'file' });

  async function join(token: string, name: string): Promise<{ socket: ClientSocket; ended: RunEnded[]; state: RoomState }> {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    const ended: RunEnded[] = [];
    socket.on('run:frame', (_frame, ack) => ack());
    socket.on('run:ended', (e) => ended.push(e));
    const { state } = await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) });
    return { socket, ended, state };
  }

  async function endedRun(runId: string) {
    for (const t0 = Date.now(); Date.now() - t0 < 120_000; await new Promise((r) => setTimeout(r, 50))) {
      const run = await fx.server.store.getRun(runId);
      if (run?.status === 'ended') return run;
    }
    throw new Error(`run ${runId} did not end`);
  }

  /** A short drag in the room; its end as the participant saw it. */
  async function drag(roomId: string, editToken: string): Promise<RunEnded> {
    const ann = await join(editToken, 'ann');
    const y = await connectYjs(fx.server.url, roomId, editToken);
    fx.onCleanup(y.destroy);
    addPoint(y.doc, [10, 10], user('ann'));
    addPoint(y.doc, [14, 12], user('ann'));
    updateSettings(y.doc, { maxSteps: 2 });
    await new Promise((r) => setTimeout(r, 200));
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    return waitFor(() => ann.ended.find((e) => e.runId === runId), 'the drag to end', 120_000);
  }

  it('stores the tuned weights with the inversion; the room, its drags and its forks draw with them', async () => {
    await initBackend({ log: () => {} });
    const base = await loadBaseModel(TINY_MODEL);
    const plain = await loadGenerator(TINY_MODEL);
    fx.onCleanup(() => plain.dispose());

    const png = await quadrants(48, 40).png().toBuffer();
    const res = await upload(fx.server.url, png, { ...PTI, crop: '4,0,40,40' });
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    const created = res.answer as PhotoRoomCreated;
    const inversion = await endedRun(created.runId!);
    expect(inversion).toMatchObject({ endReason: 'done', steps: 9, error: null });
    expect((await fx.server.store.listSteps(created.runId!)).map((s) => s.step)).toEqual([...Array(9).keys()]);

    // The weights are the room's, written with the end: the engine's compact delta for this model.
    const weights = (await fx.server.store.getWeights(created.roomId))!;
    expect(weights).not.toBeNull();
    expect(weights.byteLength).toBeGreaterThan(1000);
    expect(ptiWeightsMetadata(weights).model.id).toBe(base.id);
    const tuned = applyPtiWeights(base, weights);
    fx.onCleanup(() => tuned.dispose());

    // The room's image is its latent drawn with those weights, and differs from the model's own render.
    const room = (await fx.server.store.get(created.roomId))!;
    const image = await pixels(room.image);
    expect(maxAbsDiff(image, await rendered(tuned, room.latent))).toBeLessThanOrEqual(2);
    const withoutWeights = await rendered(plain, room.latent);
    expect(meanAbsDiff(image, withoutWeights)).toBeGreaterThan(1);

    // A drag after it: its first frame is its latent drawn with the weights, not without.
    const end = await drag(created.roomId, created.editToken);
    expect(end.reason).not.toBe('error');
    const dragSteps = await fx.server.store.listSteps(end.runId);
    const first = dragSteps[0];
    expect(first.frame).not.toBeNull();
    const frame = await pixels(first.frame!);
    expect(maxAbsDiff(frame, await rendered(tuned, first.latent))).toBeLessThanOrEqual(2);
    expect(meanAbsDiff(frame, await rendered(plain, first.latent))).toBeGreaterThan(1);

    // Replaying a step whose frame was not stored draws it as the run did: a tuning step with the weights, a
    // W step (before the weights existed) without them.
    const inversionSteps = await fx.server.store.listSteps(created.runId!);
    const viewer = await join(created.viewToken, 'bob');
    for (const [n, gen] of [[7, tuned], [1, plain]] as const) {
      expect(inversionSteps[n].frame).toBeNull();
      const { step } = await call<{ step: { image: { bytes: Uint8Array } } }>(viewer.socket, 'history:step', { runId: created.runId, step: n });
      expect(maxAbsDiff(await pixels(new Uint8Array(step.image.bytes)), await rendered(gen, inversionSteps[n].latent))).toBeLessThanOrEqual(2);
    }

    // A fork from the drag keeps the weights (same bytes) and its image is drawn with them.
    const fork = await call<{ roomId: string }>(viewer.socket, 'history:fork', { runId: end.runId, step: 0 });
    expect(Buffer.from((await fx.server.store.getWeights(fork.roomId))!).equals(Buffer.from(weights))).toBe(true);
    const forkRoom = (await fx.server.store.get(fork.roomId))!;
    expect(maxAbsDiff(await pixels(forkRoom.image), await rendered(tuned, forkRoom.latent))).toBeLessThanOrEqual(2);
    // A fork from a tuning step keeps them too; one from a W step (before the tuning) does not.
    const fromTuning = await call<{ roomId: string }>(viewer.socket, 'history:fork', { runId: created.runId, step: 7 });
    expect(await fx.server.store.getWeights(fromTuning.roomId)).not.toBeNull();
    const fromW = await call<{ roomId: string }>(viewer.socket, 'history:fork', { runId: created.runId, step: 1 });
    expect(await fx.server.store.getWeights(fromW.roomId)).toBeNull();
    const fromWRoom = (await fx.server.store.get(fromW.roomId))!;
    expect(maxAbsDiff(await pixels(fromWRoom.image), await rendered(plain, fromWRoom.latent))).toBeLessThanOrEqual(2);

    // Through the cluster's job queue the weights travel as bytes in the job (the wire codec of BullJobQueue).
    const job = decodeWire(encodeWire({ modelPath: 'm', latent: room.latent, format: 'png', weights })) as { weights: Uint8Array };
    expect(job.weights).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(job.weights).equals(Buffer.from(weights))).toBe(true);

    // Deleting a room deletes its weights.
    await fx.server.store.delete(fork.roomId);
    expect(await fx.server.store.getWeights(fork.roomId)).toBeNull();
    expect(await fx.server.store.getWeights(created.roomId)).not.toBeNull();

    // Weights that are corrupt, or tuned from another model: the drag ends with the engine's error, the room
    // still opens and renders nothing wrong, and other rooms are unaffected.
    const header = Number(Buffer.from(weights).readBigUInt64LE(0));
    const otherModel = Buffer.from(weights);
    const meta = otherModel.toString('utf8', 8, 8 + header);
    const id = base.id.slice('sha256:'.length);
    expect(meta).toContain(id);
    otherModel.write(meta.replace(id, id.replace(/./g, (c) => (c === '0' ? '1' : '0'))), 8, 'utf8');
    const corrupt = Uint8Array.from(weights.subarray(0, weights.byteLength - 100));
    for (const [bad, message] of [[corrupt, /PTI weights/], [otherModel, /tuned from model/]] as const) {
      const broken = await fx.server.store.create({
        title: 'broken weights', model: TINY_MODEL_ID, seed: 0, latent: room.latent, image: room.image, imageType: room.imageType, weights: bad,
      });
      const end = await drag(broken.id, broken.editToken);
      expect(end.reason).toBe('error');
      expect(end.error?.code).toBe('invalid-pti-weights');
      expect(end.error?.message).toMatch(message);
      const again = await join(broken.editToken, 'cat');
      expect(again.state.room.roomId).toBe(broken.id);
      const { runs } = await call<{ runs: unknown[] }>(again.socket, 'history:list');
      expect(runs.length).toBe(1);
    }
    const still = await drag(created.roomId, created.editToken);
    expect(still.reason).not.toBe('error');
  }, 300_000);

  it('refuses pivotal tuning settings out of bounds before anything is created', async () => {
    const png = await quadrants(40, 40).png().toBuffer();
    for (const [params, message] of [
      [{ ptiSteps: '5001' }, /ptiSteps must be a whole number in \[0, 5000\]/],
      [{ ptiSteps: '2.5' }, /ptiSteps must be a whole number/],
      [{ ptiLr: '1' }, /ptiLr must be a number in/],
    ] as const) {
      const res = await upload(fx.server.url, png, params);
      expect(res.status).toBe(400);
      expect(res.answer).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(message) } });
    }
    // A model pivotal tuning cannot run on (StyleGAN3): refused at the upload, not after the W/W+ stages.
    await fx.restart({ models: [{ id: TINY_MODEL_ID, label: 'Tiny', path: TINY_MODEL }, { id: 'sg3', label: 'SG3-T', path: SG3_MODEL }] });
    const res = await upload(fx.server.url, png, { model: 'sg3', ptiSteps: '5' });
    expect(res.status).toBe(400);
    expect(res.answer).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(/pivotal tuning \(ptiSteps\) supports StyleGAN2 models; SG3-T is stylegan3/) } });
    expect(await fx.server.store.listRecent(100)).not.toContainEqual(expect.objectContaining({ model: 'sg3' }));
  });
});

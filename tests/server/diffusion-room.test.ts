/**
 * A diffusion model in the studio, through the real server, worker pool, engine and SQLite file, on the tiny
 * diffusers fixture (random weights, 16 px) copied into a temporary models directory beside a broken diffusion
 * folder: listing (and the broken one reported alone), photo rooms with no inversion run, a drag that streams its
 * LoRA, inversion and step frames (latent previews and VAE decodes) to two participants, Stop in the LoRA stage
 * and between DDIM steps of the inversion and of the final denoising,
 * history replay, fork and export from the stored steps, and each kind of room refusing the other kind's methods.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join as joinPath, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryRun, HistoryStep, ModelInfo, RoomState, RunEnded, RunFrame, UnavailableModel } from '../../contract/events.js';
import type { PhotoRoomCreated } from '../../contract/photo-room.js';
import { addPoint, diffusionSettingsOf, readDiffusionPrompt, readDiffusionSettings, setDiffusionPrompt, settingsOf, updateDiffusionSettings } from '../../contract/room-doc.js';
import { MAX_ROOM_PROMPT_CHARS } from '../../contract/diffusion-settings.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import type { StudioServer } from '../../server/studio-server.js';
import { call, connectSocket, connectYjs, createRoom, startTestServer, tempDir, TINY_MODEL_ID, user, waitFor, type ClientSocket } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import * as Y from 'yjs';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/diffusion/tiny');
const DIFF_ID = 'tinydiff';
const CARDED_ID = 'carded';
const CARD_SETTINGS = { lr: 0.05, inversionStrength: 0.4, loraSteps: 3 };

interface Watch {
  socket: ClientSocket;
  frames: RunFrame[];
  ended: RunEnded[];
  state: RoomState;
}

/** Whether every 2 x 2 block of a size x size image is one colour (the tiny model's latent preview, scaled up). */
function blocky(data: Buffer, size: number, channels: number): boolean {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const a = (y * size + x) * channels;
      const b = ((y - (y % 2)) * size + (x - (x % 2))) * channels;
      for (let c = 0; c < 3; c++) if (data[a + c] !== data[b + c]) return false;
    }
  }
  return true;
}

describe('a diffusion model in rooms', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: StudioServer;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    const models = joinPath(tmp.dir, 'models');
    mkdirSync(models);
    cpSync(FIXTURE, joinPath(models, DIFF_ID), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });
    // A broken diffusion folder: its UNet config is not JSON. It is listed as unavailable, the others work.
    cpSync(FIXTURE, joinPath(models, 'brokendiff'), { recursive: true });
    writeFileSync(joinPath(models, 'brokendiff/unet/config.json'), '{ not json');
    // A model card with room settings (a new room starts from them), and one whose settings a room could not take.
    const card = { format: 'stabledrag-diffusion', version: 1, name: 'carded', imageSize: 16, latentChannels: 4, unetParameters: 1 };
    cpSync(FIXTURE, joinPath(models, CARDED_ID), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });
    writeFileSync(joinPath(models, CARDED_ID, 'diffusion-model.json'), JSON.stringify({ ...card, settings: CARD_SETTINGS }));
    cpSync(FIXTURE, joinPath(models, 'badcard'), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });
    writeFileSync(joinPath(models, 'badcard', 'diffusion-model.json'), JSON.stringify({ ...card, settings: { lr: 5 } }));
    server = await startTestServer(joinPath(tmp.dir, 'studio.db'), { modelsDir: models });
  });

  afterAll(async () => {
    for (const c of cleanups.splice(0)) c();
    await server?.close();
    tmp?.cleanup();
  });

  async function join(token: string, name: string): Promise<Watch> {
    const socket = await connectSocket(server.url);
    cleanups.push(() => socket.disconnect());
    const w = { socket, frames: [] as RunFrame[], ended: [] as RunEnded[] } as Watch;
    socket.on('run:frame', (frame, ack) => {
      w.frames.push(frame);
      ack();
    });
    socket.on('run:ended', (e) => w.ended.push(e));
    w.state = (await call<{ state: RoomState }>(socket, 'room:join', { token, user: user(name) })).state;
    return w;
  }

  async function diffusionRoom(): Promise<PhotoRoomCreated> {
    const png = await quadrants(48, 40).png().toBuffer();
    const res = await upload(server.url, png, { model: DIFF_ID, crop: '4,0,40,40' });
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    return res.answer as PhotoRoomCreated;
  }

  /** A document with one handle/target pair and small diffusion settings, synced to the server. */
  async function prepare(roomId: string, token: string, settings: Parameters<typeof updateDiffusionSettings>[1]) {
    const y = await connectYjs(server.url, roomId, token);
    cleanups.push(y.destroy);
    addPoint(y.doc, [4, 8], user('ann'));
    addPoint(y.doc, [12, 8], user('ann'));
    updateDiffusionSettings(y.doc, settings);
    await new Promise((r) => setTimeout(r, 300));
    return y;
  }

  it('lists the diffusion folder with its size and kind, reports the broken one alone, and refuses seed rooms for it', async () => {
    const s = await connectSocket(server.url);
    cleanups.push(() => s.disconnect());
    const list = await call<{ models: ModelInfo[]; unavailable: UnavailableModel[] }>(s, 'models:list');
    const diff = list.models.find((m) => m.id === DIFF_ID);
    expect(diff).toMatchObject({ kind: 'diffusion', architecture: 'diffusion', width: 16, height: 16 });
    expect(diff!.fileBytes).toBeGreaterThan(800_000);
    expect(list.unavailable).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: 'brokendiff', reason: expect.stringMatching(/unet\/config\.json is not valid JSON/) }),
      expect.objectContaining({ id: 'badcard', reason: expect.stringMatching(/diffusion-model\.json: settings\.lr: 5 is outside \[0\.0001, 0\.1\]/) }),
    ]));
    expect(list.unavailable).toHaveLength(2);
    // The card's settings are the server's: the list shows what a room needs to pick a model.
    expect(list.models.find((m) => m.id === CARDED_ID)).not.toHaveProperty('diffusionSettings');
    expect(list.models.find((m) => m.id === TINY_MODEL_ID)).toMatchObject({ kind: 'gan' });
    await expect(call(s, 'room:create', { title: 'x', model: DIFF_ID, seed: 1 })).rejects.toThrow(/diffusion model: its rooms start from a photo/);
    await expect(call(s, 'seed:preview', { model: DIFF_ID, seed: 1 })).rejects.toThrow(/diffusion model/);
    // The GAN model keeps working beside them.
    const gan = await createRoom(server.url);
    expect(gan.roomId).toBeTruthy();
  });

  it("starts a photo room of a model with a card from the card's settings, which its participants can change", async () => {
    const png = await quadrants(48, 40).png().toBuffer();
    const res = await upload(server.url, png, { model: CARDED_ID, crop: '4,0,40,40' });
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    const created = res.answer as PhotoRoomCreated;
    const y = await connectYjs(server.url, created.roomId, created.editToken);
    cleanups.push(y.destroy);
    await waitFor(() => diffusionSettingsOf(y.doc).size > 0 || undefined, 'the seeded settings');
    expect(readDiffusionSettings(y.doc)).toMatchObject(CARD_SETTINGS);
    expect(validateRoomDoc(y.doc, 16, undefined, 'diffusion')).toBeNull();
    updateDiffusionSettings(y.doc, { lr: 0.02 });
    await new Promise((r) => setTimeout(r, 300));
    const again = await connectYjs(server.url, created.roomId, created.viewToken);
    cleanups.push(again.destroy);
    await waitFor(() => (readDiffusionSettings(again.doc).lr === 0.02) || undefined, "the participant's change");
    expect(readDiffusionSettings(again.doc)).toMatchObject({ lr: 0.02, inversionStrength: 0.4, loraSteps: 3 });
    // A model without settings on its card starts from the defaults: nothing written.
    const plain = await diffusionRoom();
    const p = await connectYjs(server.url, plain.roomId, plain.editToken);
    cleanups.push(p.destroy);
    await new Promise((r) => setTimeout(r, 300));
    expect(diffusionSettingsOf(p.doc).size).toBe(0);
  });

  it('makes a photo room with no inversion run, streams a drag to two participants, then replays, forks and exports it', async () => {
    const created = await diffusionRoom();
    expect(created.runId).toBeNull();
    const stored = await server.store.get(created.roomId);
    expect(stored!.model).toBe(DIFF_ID);
    await prepare(created.roomId, created.editToken, { loraSteps: 2, ddimSteps: 10, inversionStrength: 0.7, maxSteps: 4, decodeEvery: 2 });
    const ann = await join(created.editToken, 'ann');
    const bob = await join(created.viewToken, 'bob');
    expect(ann.state.room).toMatchObject({ modelKind: 'diffusion', width: 16, height: 16 });
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    for (const w of [ann, bob]) await waitFor(() => w.ended.find((e) => e.runId === runId), `${w === ann ? 'ann' : 'bob'}'s end`, 120_000);
    const end = ann.ended.find((e) => e.runId === runId)!;
    expect(end.error).toBeUndefined();
    expect(['reached', 'max-steps']).toContain(end.reason);
    for (const w of [ann, bob]) {
      const frames = w.frames.filter((f) => f.runId === runId);
      const stages = frames.map((f) => f.diffusion?.stage);
      // A slow client may skip frames, never the last; on this tiny model nobody is slow.
      expect(stages).toContain('lora');
      expect(stages).toContain('invert');
      expect(stages).toContain('drag');
      expect(frames.find((f) => f.diffusion?.stage === 'lora')).toMatchObject({ diffusion: { stageSteps: 2, loss: expect.any(Number) } });
      const drags = frames.filter((f) => f.diffusion?.stage === 'drag');
      expect(drags.some((f) => f.diffusion!.decoded) && drags.some((f) => !f.diffusion!.decoded)).toBe(true);
      expect(drags.every((f) => f.image.width === 16 && f.image.height === 16)).toBe(true);
      expect(frames.at(-1)!.final).toBe(true);
      // The final frame is the finished denoising: 10 DDIM steps at strength 0.7.
      expect(frames.at(-1)!.diffusion).toEqual({ stage: 'denoise', stageStep: 7, stageSteps: 7 });
    }
    // History: every drag step's latent (16 px image: 8 x 8 x 4 floats) and a frame.
    const steps = await server.store.listSteps(runId);
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.every((s) => s.latent.length === 8 * 8 * 4 && s.frame && s.frame.byteLength > 0)).toBe(true);
    // Stored as half floats: 2 bytes a value.
    const raw = new Database(joinPath(tmp.dir, 'studio.db'), { readonly: true });
    const rows = raw.prepare('SELECT length(latent) AS bytes, latentType FROM RunStep WHERE runId = ?').all(runId) as { bytes: number; latentType: string }[];
    raw.close();
    expect(rows.length).toBe(steps.length);
    expect(rows.every((r) => r.bytes === 8 * 8 * 4 * 2 && r.latentType === 'f16')).toBe(true);
    const { runs } = await call<{ runs: HistoryRun[] }>(ann.socket, 'history:list');
    expect(runs.find((r) => r.runId === runId)).toMatchObject({ kind: 'drag', method: 'stabledrag-diff', status: 'ended' });
    const replay = await call<{ step: HistoryStep }>(bob.socket, 'history:step', { runId, step: 1 });
    expect(Buffer.from(replay.step.image.bytes as Uint8Array).equals(Buffer.from(steps[1].frame!))).toBe(true);
    // The room's image is the denoised result, not the photo.
    const after = await server.store.get(created.roomId);
    expect(Buffer.from(after!.image).equals(Buffer.from(stored!.image))).toBe(false);
    // Everyone's final frame is that denoised result.
    for (const w of [ann, bob]) {
      const last = w.frames.filter((f) => f.runId === runId).at(-1)!;
      expect(last.diffusion?.stage).toBe('denoise');
      expect(Buffer.from(last.image.bytes as Uint8Array).equals(Buffer.from(after!.image))).toBe(true);
    }
    // Fork from a step: the step's frame becomes the new room's image, with the run's settings.
    const fork = await call<{ roomId: string; editToken: string }>(ann.socket, 'history:fork', { runId, step: 0 });
    const child = await server.store.get(fork.roomId);
    expect(child!.model).toBe(DIFF_ID);
    expect(Buffer.from(child!.image).equals(Buffer.from(steps[0].frame!))).toBe(true);
    // A fork from a preview step (decode every 2: step 1) gets a VAE decode of that step's clean latent, not the
    // blocky preview; the replay says which steps are previews.
    expect(replay.step.decoded).toBe(false);
    expect((await call<{ step: HistoryStep }>(bob.socket, 'history:step', { runId, step: 0 })).step.decoded).toBe(true);
    const previewFork = await call<{ roomId: string }>(ann.socket, 'history:fork', { runId, step: 1 });
    const previewChild = (await server.store.get(previewFork.roomId))!;
    expect(previewChild.imageType).toBe('image/png');
    const pixels = await sharp(Buffer.from(previewChild.image)).raw().toBuffer({ resolveWithObject: true });
    expect([pixels.info.width, pixels.info.height]).toEqual([16, 16]);
    expect(blocky(pixels.data, 16, pixels.info.channels)).toBe(false);
    const previewPixels = await sharp(Buffer.from(steps[1].frame!)).raw().toBuffer({ resolveWithObject: true });
    expect(blocky(previewPixels.data, 16, previewPixels.info.channels)).toBe(true);
    const fy = await connectYjs(server.url, fork.roomId, fork.editToken);
    cleanups.push(fy.destroy);
    expect(readDiffusionSettings(fy.doc)).toMatchObject({ maxSteps: 4, loraSteps: 2, ddimSteps: 10 });
    // Export: a step's frame and the run's animation, from the stored frames.
    const png = await fetch(`${server.url}/api/rooms/${created.viewToken}/runs/${runId}/steps/1/frame.png`);
    expect(png.status).toBe(200);
    const anim = await fetch(`${server.url}/api/rooms/${created.viewToken}/runs/${runId}/animation.webp`);
    expect(anim.status).toBe(200);
  }, 180_000);

  /** Starts a drag, presses Stop once `stage` has reached `stageStep`, and returns the run's end and frames. */
  async function stopIn(stage: 'lora' | 'invert' | 'denoise', settings: Parameters<typeof updateDiffusionSettings>[1], stageStep = 2) {
    const created = await diffusionRoom();
    await prepare(created.roomId, created.editToken, settings);
    const ann = await join(created.editToken, 'ann');
    const before = (await server.store.get(created.roomId))!.image;
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    await waitFor(() => ann.frames.find((f) => f.runId === runId && f.diffusion?.stage === stage && f.diffusion.stageStep >= stageStep), `${stage} progress`, 60_000);
    await call(ann.socket, 'run:stop');
    const end = await waitFor(() => ann.ended.find((e) => e.runId === runId), 'the end', 60_000);
    const frames = ann.frames.filter((f) => f.runId === runId);
    const after = (await server.store.get(created.roomId))!;
    return { end, frames, runId, keptImage: Buffer.from(after.image).equals(Buffer.from(before)) };
  }

  it('stops a drag in its LoRA stage; the room keeps its image', async () => {
    const { end, runId, keptImage } = await stopIn('lora', { loraSteps: 200, ddimSteps: 10, maxSteps: 4 });
    expect(end.reason).toBe('cancelled');
    expect(keptImage).toBe(true);
    expect(await server.store.listSteps(runId)).toEqual([]);
  }, 120_000);

  it('stops a drag between DDIM steps of its inversion; the room keeps its image', async () => {
    // 100 DDIM steps, all inverted: Stop lands long before the inversion ends.
    const { end, frames, runId, keptImage } = await stopIn('invert', { loraSteps: 0, ddimSteps: 100, inversionStrength: 1, maxSteps: 4 });
    expect(end.reason).toBe('cancelled');
    const inverted = frames.filter((f) => f.diffusion?.stage === 'invert');
    expect(inverted.every((f) => f.diffusion!.stageSteps === 100)).toBe(true);
    expect(Math.max(...inverted.map((f) => f.diffusion!.stageStep))).toBeLessThan(100);
    expect(frames.some((f) => f.diffusion?.stage === 'drag')).toBe(false);
    expect(keptImage).toBe(true);
    expect(await server.store.listSteps(runId)).toEqual([]);
  }, 120_000);

  it('stops a drag between DDIM steps of its final denoising; the room keeps its image and the drag steps stay recorded', async () => {
    const { end, frames, runId, keptImage } = await stopIn('denoise', { loraSteps: 0, ddimSteps: 100, inversionStrength: 1, maxSteps: 1 });
    expect(end.reason).toBe('cancelled');
    const denoised = frames.filter((f) => f.diffusion?.stage === 'denoise');
    expect(Math.max(...denoised.map((f) => f.diffusion!.stageStep))).toBeLessThan(100);
    // Everyone's last frame shows the last drag step, not a denoised result.
    const lastDrag = frames.filter((f) => f.diffusion?.stage === 'drag').at(-1)!;
    expect(Buffer.from(frames.at(-1)!.image.bytes as Uint8Array).equals(Buffer.from(lastDrag.image.bytes as Uint8Array))).toBe(true);
    expect(keptImage).toBe(true);
    expect((await server.store.listSteps(runId)).length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("drags with the room's own prompt, which a fork carries on; a bad prompt is refused and loses nothing", async () => {
    const created = await diffusionRoom();
    const y = await prepare(created.roomId, created.editToken, { loraSteps: 0, ddimSteps: 10, maxSteps: 1 });
    setDiffusionPrompt(y.doc, 'a red fox');
    await new Promise((r) => setTimeout(r, 300));
    // Not text, and too long: each update is refused, the document keeps the room's prompt.
    for (const bad of [42, 'x'.repeat(MAX_ROOM_PROMPT_CHARS + 1)]) {
      const other = await connectYjs(server.url, created.roomId, created.editToken);
      cleanups.push(other.destroy);
      diffusionSettingsOf(other.doc).set('prompt', bad);
      await new Promise((r) => setTimeout(r, 300));
    }
    const fresh = await connectYjs(server.url, created.roomId, created.viewToken);
    cleanups.push(fresh.destroy);
    expect(readDiffusionPrompt(fresh.doc)).toBe('a red fox');
    const ann = await join(created.editToken, 'ann');
    const { runId } = await call<{ runId: string }>(ann.socket, 'run:start');
    const end = await waitFor(() => ann.ended.find((e) => e.runId === runId), 'the end', 120_000);
    expect(end.error).toBeUndefined();
    expect((await server.store.getRun(runId))!.settings).toMatchObject({ prompt: 'a red fox', maxSteps: 1 });
    const fork = await call<{ roomId: string; editToken: string }>(ann.socket, 'history:fork', { runId, step: 0 });
    const fy = await connectYjs(server.url, fork.roomId, fork.editToken);
    cleanups.push(fy.destroy);
    expect(readDiffusionPrompt(fy.doc)).toBe('a red fox');
  }, 120_000);

  it('refuses a diffusion method in a GAN room\'s settings and a GAN method in a diffusion room\'s', async () => {
    const doc = new Y.Doc();
    settingsOf(doc).set('method', 'stabledrag-diff');
    expect(validateRoomDoc(doc, 16)).toMatch(/settings\.method: expected 'draggan' or 'stabledrag'/);
    const other = new Y.Doc();
    diffusionSettingsOf(other).set('method', 'stabledrag');
    expect(validateRoomDoc(other, 16)).toMatch(/diffusion\.method: expected 'dragdiffusion' or 'stabledrag-diff'/);
    // Through the server: the update is refused and the document keeps its value.
    const created = await diffusionRoom();
    const y = await connectYjs(server.url, created.roomId, created.editToken);
    cleanups.push(y.destroy);
    diffusionSettingsOf(y.doc).set('method', 'draggan');
    await new Promise((r) => setTimeout(r, 300));
    const fresh = await connectYjs(server.url, created.roomId, created.viewToken);
    cleanups.push(fresh.destroy);
    expect(readDiffusionSettings(fresh.doc).method).toBe('stabledrag-diff');
    expect(diffusionSettingsOf(fresh.doc).get('method')).toBeUndefined();
    // Nor does either kind of room take the other kind's settings, valid as they are.
    const y2 = await connectYjs(server.url, created.roomId, created.editToken);
    cleanups.push(y2.destroy);
    settingsOf(y2.doc).set('method', 'draggan');
    const gan = await createRoom(server.url);
    const g = await connectYjs(server.url, gan.roomId, gan.editToken);
    cleanups.push(g.destroy);
    diffusionSettingsOf(g.doc).set('method', 'dragdiffusion');
    await new Promise((r) => setTimeout(r, 300));
    const [d2, g2] = await Promise.all([connectYjs(server.url, created.roomId, created.viewToken), connectYjs(server.url, gan.roomId, gan.viewToken)]);
    cleanups.push(d2.destroy, g2.destroy);
    expect(settingsOf(d2.doc).size).toBe(0);
    expect(diffusionSettingsOf(g2.doc).size).toBe(0);
    expect(validateRoomDoc(g.doc, 32, undefined, 'gan')).toMatch(/only a diffusion room has diffusion settings/);
  });
});

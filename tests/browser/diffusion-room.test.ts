/**
 * The method picker in a real browser: a diffusion room (the tiny diffusers fixture, from a photo) offers
 * StableDrag-Diff and DragDiffusion and its LoRA / DDIM fields, a choice reaches a second participant through the
 * document, and a run shows its stages in the run panel; a GAN room offers DragGAN and StableDrag only. The room's
 * prompt field reaches the document, the timeline marks preview and decoded steps, and a room whose model is gone
 * says so and keeps its diffusion panel. Set-up in
 * browser-studio.ts (production app on the studio server, Debian's Chromium).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PhotoRoomCreated } from '../../contract/photo-room.js';
import { addPoint, readDiffusionPrompt, readDiffusionSettings, updateDiffusionSettings } from '../../contract/room-doc.js';
import { call, connectSocket, connectYjs, createRoom, user, waitFor } from '../server/helpers.js';
import { quadrants, upload } from '../server/photo-upload-helpers.js';
import { HAS_CHROMIUM, useBrowserStudio } from './browser-studio.js';

const FIXTURE = resolve(import.meta.dirname, '../fixtures/diffusion/tiny');
const models = mkdtempSync(join(tmpdir(), 'stabledrag-browser-models-'));
mkdirSync(join(models, 'tinydiff'));
cpSync(FIXTURE, join(models, 'tinydiff'), { recursive: true, filter: (src) => !src.endsWith('reference.safetensors') });

describe.skipIf(!HAS_CHROMIUM)('the method picker in the browser', () => {
  const studio = useBrowserStudio({ width: 1360, height: 1000 }, { modelsDir: models });
  afterAll(() => rmSync(models, { recursive: true, force: true }));

  const methods = async (page: import('playwright-core').Page) =>
    (await page.getByTestId('method-picker').locator('button').allTextContents()).map((t) => t.trim());

  it('offers the diffusion methods in a diffusion room and the GAN ones in a GAN room', async () => {
    const res = await upload(studio.server.url, await quadrants(48, 40).png().toBuffer(), { model: 'tinydiff', crop: '4,0,40,40' });
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    const created = res.answer as PhotoRoomCreated;
    const y = await connectYjs(studio.server.url, created.roomId, created.editToken);
    addPoint(y.doc, [4, 8], user('ann'));
    addPoint(y.doc, [12, 8], user('ann'));
    updateDiffusionSettings(y.doc, { loraSteps: 40, ddimSteps: 10, maxSteps: 4, decodeEvery: 2 });

    const ann = await studio.userPage('Ann', '#e5484d');
    await ann.goto(`${studio.server.url}/r/${created.editToken}`);
    await expect.poll(() => ann.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    await expect.poll(() => methods(ann)).toEqual(['StableDrag-Diff', 'DragDiffusion']);
    await expect.poll(() => ann.getByText('LoRA steps').count()).toBeGreaterThan(0);
    // A diffusion drag without a mask holds the rest of the latent (DragDiffusion's term), and the panel says so.
    expect(await ann.getByTestId('mask-meaning').textContent()).toMatch(/rest of the image is held near the original/);
    await ann.getByTestId('method-picker').getByText('DragDiffusion').click();
    await waitFor(() => readDiffusionSettings(y.doc).method === 'dragdiffusion', 'the choice to reach another participant');

    await ann.getByTestId('start-run').click();
    await expect.poll(() => ann.getByTestId('diffusion-stage').textContent(), { timeout: 60_000 }).toMatch(/Fine-tuning LoRA on the image\d+ \/ 40 · loss/);
    await expect.poll(() => ann.getByTestId('run-status').textContent(), { timeout: 60_000 }).toMatch(/Reached|step limit/);
    y.destroy();

    const gan = await createRoom(studio.server.url);
    const bob = await studio.userPage('Bob', '#0090ff');
    await bob.goto(`${studio.server.url}/r/${gan.editToken}`);
    await expect.poll(() => bob.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    await expect.poll(() => methods(bob)).toEqual(['StableDrag', 'DragGAN']);
    expect(await bob.getByText('LoRA steps').count()).toBe(0);
    expect(await bob.getByTestId('mask-meaning').textContent()).toBe('No mask: the whole image may change.');
  }, 120_000);

  it("edits the room's prompt, marks preview steps in the timeline, and says when the room's model is missing", async () => {
    const res = await upload(studio.server.url, await quadrants(48, 40).png().toBuffer(), { model: 'tinydiff', crop: '4,0,40,40' });
    const created = res.answer as PhotoRoomCreated;
    const y = await connectYjs(studio.server.url, created.roomId, created.editToken);
    addPoint(y.doc, [4, 8], user('ann'));
    addPoint(y.doc, [12, 8], user('ann'));
    updateDiffusionSettings(y.doc, { loraSteps: 0, ddimSteps: 10, maxSteps: 3, decodeEvery: 2 });

    const ann = await studio.userPage('Ann', '#e5484d');
    await ann.goto(`${studio.server.url}/r/${created.editToken}`);
    await expect.poll(() => ann.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    expect(await ann.getByTestId('model-missing').count()).toBe(0);
    await ann.getByTestId('diffusion-prompt').fill('a red fox');
    await ann.getByTestId('diffusion-prompt').press('Enter');
    await waitFor(() => readDiffusionPrompt(y.doc) === 'a red fox', 'the prompt to reach another participant');

    await ann.getByTestId('start-run').click();
    await expect.poll(() => ann.getByTestId('run-status').textContent(), { timeout: 60_000 }).toMatch(/Reached|step limit/);
    await ann.getByTestId('timeline-run-1').click();
    await ann.getByTestId('timeline-scrubber').fill('1');
    await expect.poll(() => ann.getByTestId('timeline-step-kind').textContent()).toBe('preview');
    await ann.getByTestId('timeline-scrubber').fill('2');
    await expect.poll(() => ann.getByTestId('timeline-step-kind').textContent()).toBe('decoded');
    y.destroy();

    // The model goes away (removed, then a rescan): the room stays a diffusion room and says its model is missing.
    rmSync(join(models, 'tinydiff'), { recursive: true, force: true });
    const s = await connectSocket(studio.server.url);
    await call(s, 'models:rescan');
    s.disconnect();
    const bob = await studio.userPage('Bob', '#0090ff');
    await bob.goto(`${studio.server.url}/r/${created.viewToken}`);
    await expect.poll(() => bob.getByTestId('model-missing').textContent()).toMatch(/diffusion model “tinydiff” is\s+missing/);
    await expect.poll(() => methods(bob)).toEqual(['StableDrag-Diff', 'DragDiffusion']);
  }, 120_000);
});

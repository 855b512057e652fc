/**
 * The upload form's choices that depend on the server, in a real browser: for the faces model the crop starts
 * where the server's landmark search found a face (labelled "suggested" until moved), a face-free photo keeps
 * the centred crop and says no face was found, the tiny model's crop starts centred without asking; the loss
 * "Pixels + LPIPS" is offered (with what a step costs on wasm) since the models directory holds LPIPS's
 * weights; and a room's timeline shows its stored bytes against its limit.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { LPIPS_SLOW_NOTE } from '../../contract/invert-settings.js';
import { background, pasteFace } from '../../bench/pasted-faces.js';
import { createRoom, tempDir, TINY_MODEL, TINY_MODEL_ID } from '../server/helpers.js';
import { HAS_CHROMIUM, useBrowserStudio } from './browser-studio.js';

const FACES = resolve(import.meta.dirname, '../../models/faces128/model.safetensors');
const models = tempDir();
mkdirSync(join(models.dir, 'lpips'));
copyFileSync(resolve(import.meta.dirname, '../fixtures/lpips/lpips-small.safetensors'), join(models.dir, 'lpips', 'lpips-vgg.safetensors'));

async function png(image: { width: number; height: number; data: Uint8ClampedArray }): Promise<Buffer> {
  return sharp(Buffer.from(image.data.buffer), { raw: { width: image.width, height: image.height, channels: 4 } }).png().toBuffer();
}

describe.skipIf(!HAS_CHROMIUM)('the photo form\'s suggested crop and LPIPS, the timeline\'s storage', () => {
  afterAll(models.cleanup);
  const studio = useBrowserStudio({ width: 1360, height: 1000 }, {
    models: [{ id: 'faces', label: 'Faces', path: FACES }, { id: TINY_MODEL_ID, label: 'Tiny (tests)', path: TINY_MODEL }],
    modelsDir: models.dir,
    limits: { roomStorageBytes: 50 * 1024 * 1024 },
  });

  it('starts a faces model\'s crop on the face found, offers LPIPS, and shows a room\'s storage', async () => {
    const photo = background(900, 600, 51);
    pasteFace(photo, 88, 480, 120, 300);
    const ann = await studio.userPage('Ann', '#e5484d');
    await ann.goto(studio.server.url);
    await ann.getByTestId('photo-input').setInputFiles({ name: 'face.png', mimeType: 'image/png', buffer: await png(photo) });
    // The first model listed is chosen.
    await expect.poll(() => ann.getByTestId('photo-model').inputValue()).toBe('faces');
    const note = ann.getByTestId('photo-crop-suggestion');
    await expect.poll(() => note.getAttribute('data-state'), { timeout: 60_000 }).toBe('suggested');
    await expect.poll(() => ann.locator('.photo-crop-label').textContent()).toBe('suggested');
    const text = (await ann.getByTestId('photo-crop').textContent())!;
    const [, w, h, left, top] = /crop (\d+)×(\d+) at (\d+),(\d+)/.exec(text)!.map(Number);
    expect(w).toBe(h);
    expect(Math.abs(left + w / 2 - 630)).toBeLessThan(40);
    expect(Math.abs(top + h / 2 - 270)).toBeLessThan(40);
    expect(Math.abs(w - 300)).toBeLessThan(60);
    // Moving it drops the label.
    await ann.getByTestId('photo-zoom').focus();
    await ann.keyboard.press('ArrowLeft');
    await expect.poll(() => ann.locator('.photo-crop-label').count()).toBe(0);

    // LPIPS is offered here, with its cost.
    expect(await ann.getByTestId('photo-loss').locator('option[value="lpips"]').count()).toBe(1);
    await ann.getByTestId('photo-loss').selectOption('lpips');
    await expect.poll(() => ann.getByTestId('photo-lpips-note').textContent()).toContain(LPIPS_SLOW_NOTE);

    // A face-free photo: centred, and said so.
    await ann.getByTestId('photo-input').setInputFiles({ name: 'none.png', mimeType: 'image/png', buffer: await png(background(900, 600, 52)) });
    await expect.poll(() => note.getAttribute('data-state'), { timeout: 60_000 }).toBe('none');
    await expect.poll(() => ann.getByTestId('photo-crop').textContent()).toBe('crop 600×600 at 150,0 of 900×600');
    // The tiny model is no faces model: centred, nothing asked.
    await ann.getByTestId('photo-model').selectOption(TINY_MODEL_ID);
    await expect.poll(() => note.count()).toBe(0);

    // A room's timeline: its stored bytes of the limit.
    const room = await createRoom(studio.server.url);
    await ann.goto(`${studio.server.url}/r/${room.editToken}`);
    await expect.poll(() => ann.getByTestId('room-storage').textContent(), { timeout: 30_000 }).toMatch(/^ · \d+\.\d of 50 MB$/);
  }, 240_000);
});

/**
 * A non-square room in Chromium (StyleGAN-Human's layout: 256 wide, 512 tall, a random model with tiny
 * channels): the stage keeps the image's aspect ratio, clicks land on the image pixel under the pointer on
 * each axis (checked in the shared document through the server), and a run's frames show on the stage.
 * Leaves a screenshot in test-artifacts/.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ARTIFACTS, HAS_CHROMIUM, stagePixels, useBrowserStudio } from './browser-studio.js';
import { writeRandomModel } from '../server/random-models.js';
import { call, connectSocket, connectYjs } from '../server/helpers.js';
import { readMask, readPoints, updateSettings } from '../../contract/room-doc.js';

const W = 256;
const H = 512;

describe.skipIf(!HAS_CHROMIUM)('a non-square room in the browser', () => {
  // Written while the file is collected: the studio starts (in its beforeAll) with this model.
  const modelDir = HAS_CHROMIUM ? writeRandomModel({ resolution: H, width: W }, mkdtempSync(join(tmpdir(), 'sd-browser-model-'))) : '';
  const studio = useBrowserStudio({ width: 1360, height: 860 }, { models: [{ id: 'human', label: 'Human 256x512 (random)', path: modelDir }] });

  /** Page coordinates of an image pixel's centre on the stage. */
  async function at(page: Page, x: number, y: number): Promise<[number, number]> {
    const box = (await page.getByTestId('stage-canvas').boundingBox())!;
    return [box.x + ((x + 0.5) * box.width) / W, box.y + ((y + 0.5) * box.height) / H];
  }

  it('keeps the aspect ratio, maps clicks to image pixels per axis, and shows frames', async () => {
    const s = await connectSocket(studio.server.url);
    const room = await call<{ roomId: string; editToken: string }>(s, 'room:create', { title: 'Tall room', model: 'human', seed: 2 });
    s.disconnect();
    const ann = await studio.userPage('Ann', '#e5484d');
    await ann.goto(`${studio.server.url}/r/${room.editToken}`);
    await expect.poll(() => ann.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    await expect.poll(() => ann.getByTestId('room-size').textContent()).toBe(`${W}×${H}`);

    // The stage is half as wide as it is tall, on screen and in its backing store.
    const box = (await ann.getByTestId('stage-canvas').boundingBox())!;
    expect(Math.abs(box.width / box.height - W / H)).toBeLessThan(0.01);
    const backing = await ann.getByTestId('stage-canvas').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(Math.abs(backing[0] / backing[1] - W / H)).toBeLessThan(0.01);
    await expect.poll(() => ann.getByTestId('stage').getAttribute('data-image-height')).toBe(String(H));

    // A handle near the bottom right corner (below y = 256, which a square of the width would cut off) and a target.
    await ann.mouse.click(...(await at(ann, 240, 470)));
    await ann.mouse.click(...(await at(ann, 200, 430)));
    const y = await connectYjs(studio.server.url, room.roomId, room.editToken);
    try {
      await expect.poll(() => readPoints(y.doc).map((p) => [p.handle, p.target])).toEqual([[[240, 470], [200, 430]]]);
      updateSettings(y.doc, { maxSteps: 3, lr: 0.01 });
      await expect.poll(() => ann.locator('[data-testid=pair-list] .chip.target').textContent()).toBe('200, 430');

      // A brush dab lands at the image pixel under the pointer, its radius in image pixels (the default: 50 px
      // at 512 scaled to the shorter side, 25), however large the stage draws it.
      await ann.getByRole('radio', { name: 'Mask brush' }).click();
      await ann.mouse.move(...(await at(ann, 100, 300)));
      await ann.mouse.down();
      await ann.mouse.up();
      await expect.poll(() => readMask(y.doc).length).toBe(1);
      const [stroke] = readMask(y.doc);
      expect(stroke.radius).toBe(25);
      expect(Math.abs(stroke.points[0] - 100)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(stroke.points[1] - 300)).toBeLessThanOrEqual(0.5);
      await ann.getByRole('radio', { name: 'Points' }).click();

      // A run's frames show on the stage.
      const before = await stagePixels(ann);
      await ann.getByTestId('start-run').click();
      await expect.poll(() => ann.getByTestId('frame-info').count(), { timeout: 60_000 }).toBe(1);
      await expect.poll(() => ann.getByTestId('run-status').textContent(), { timeout: 60_000 }).toMatch(/3 steps/);
      await expect.poll(() => stagePixels(ann)).not.toBe(before);
      mkdirSync(ARTIFACTS, { recursive: true });
      await ann.screenshot({ path: join(ARTIFACTS, 'tall-room.png') });
    } finally {
      y.destroy();
    }
  }, 180_000);
});

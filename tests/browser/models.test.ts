/**
 * The room creator's model list in a real browser: each model with its size and file size, a model whose file
 * is broken greyed with its reason, and a model added to the models directory offered after "Rescan models".
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, HAS_CHROMIUM, useBrowserStudio } from './browser-studio.js';
import { TINY_MODEL } from '../server/helpers.js';

describe.skipIf(!HAS_CHROMIUM)('model list in the browser', () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'stabledrag-browser-models-'));
  mkdirSync(join(modelsDir, 'broken'));
  writeFileSync(join(modelsDir, 'broken', 'model.safetensors'), 'not a model');
  const studio = useBrowserStudio({ width: 1360, height: 860 }, { modelsDir });
  afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));

  it('shows sizes and file sizes, greys the broken model with its reason, and offers a new model after a rescan', async () => {
    const page = await studio.userPage('Ann', '#e5484d');
    await page.goto(studio.server.url + '/');
    const tiny = page.getByTestId('model-tiny');
    await tiny.waitFor();
    const megabytes = (statSync(TINY_MODEL).size / 1e6).toFixed(1);
    expect(await tiny.textContent()).toContain(`32×32 · ${megabytes} MB · not measured yet`);
    const broken = page.getByTestId('unavailable-broken');
    expect(await broken.textContent()).toMatch(/^broken\s*unavailable: not a safetensors file: its header length \d+ is outside/);
    expect(await broken.evaluate((el) => Number(getComputedStyle(el).opacity))).toBeLessThan(1);

    mkdirSync(join(modelsDir, 'late'));
    copyFileSync(TINY_MODEL, join(modelsDir, 'late', 'model.safetensors'));
    // The page's first scan was at server start; a second rescan within a second would share its result.
    await new Promise((r) => setTimeout(r, 1000));
    await page.getByTestId('rescan-models').click();
    await page.getByTestId('model-late').waitFor();
    expect(await page.getByTestId('model-select').locator('option').allTextContents()).toContain('parity-tiny (32×32 px)');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('.create-card:not([data-testid=photo-room])').screenshot({ path: join(ARTIFACTS, 'create-room-models.png') });
  });
});

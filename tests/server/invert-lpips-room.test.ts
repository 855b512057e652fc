/**
 * The 'lpips' inversion loss in rooms: offered (models:list `lpips`) only when the server's models directory
 * holds lpips/lpips-vgg.safetensors, refused at the upload otherwise; with the file (the random reduced-width
 * LPIPS of tests/fixtures/lpips, copied into a temp models directory) a photo's inversion runs with it on the
 * real worker pool and engine. A file that is not LPIPS fails that inversion (so the loss really loads it),
 * while the other losses do not look at it.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../server/rooms/history-store.js';
import { call, connectSocket, tempDir, useServerFixture } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

const LPIPS_FIXTURE = new URL('../fixtures/lpips/lpips-small.safetensors', import.meta.url).pathname;

describe('the LPIPS loss in photo rooms', () => {
  const fx = useServerFixture({ per: 'test' });

  async function offered(): Promise<boolean> {
    const socket = await connectSocket(fx.server.url);
    fx.onCleanup(() => socket.disconnect());
    return (await call<{ lpips: boolean }>(socket, 'models:list')).lpips;
  }

  async function ended(runId: string): Promise<RunRecord> {
    let run = await fx.server.store.getRun(runId);
    for (const t0 = Date.now(); run?.status !== 'ended'; run = await fx.server.store.getRun(runId)) {
      if (Date.now() - t0 > 90_000) throw new Error('timed out waiting for the inversion to end');
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!run) throw new Error('the inversion was never recorded');
    return run;
  }

  it('is refused, and not offered, without LPIPS\'s weights on the server', async () => {
    expect(await offered()).toBe(false);
    const photo = new Uint8Array(await quadrants(48, 48).png().toBuffer());
    const res = await upload(fx.server.url, photo, { loss: 'lpips' });
    expect(res.status).toBe(400);
    expect(res.answer.ok === false && res.answer.error.message).toMatch(/stabledrag import-lpips/);
    expect(await fx.server.store.listRecent(10)).toEqual([]);
  });

  it('runs a photo\'s inversion with LPIPS from the models directory\'s file', async () => {
    const models = tempDir();
    fx.onCleanup(models.cleanup);
    mkdirSync(join(models.dir, 'lpips'));
    const file = join(models.dir, 'lpips', 'lpips-vgg.safetensors');
    copyFileSync(LPIPS_FIXTURE, file);
    await fx.restart({ modelsDir: models.dir });
    expect(await offered()).toBe(true);
    const photo = new Uint8Array(await quadrants(48, 48).png().toBuffer());
    const made = await upload(fx.server.url, photo, { loss: 'lpips', wSteps: '4', wPlusSteps: '2' });
    if (!made.answer.ok) throw new Error(made.answer.error.message);
    const run = await ended(made.answer.runId!);
    expect(run.endReason).toBe('done');
    expect(run.error).toBeNull();
    expect((run.settings as { loss: string }).loss).toBe('lpips');
    expect(run.recorded).toBe(6);

    // Not an LPIPS file: the LPIPS inversion fails saying so; a pixel one does not read the file.
    writeFileSync(file, 'not a safetensors file');
    const broken = await upload(fx.server.url, photo, { loss: 'lpips', wSteps: '4', wPlusSteps: '2' });
    if (!broken.answer.ok) throw new Error(broken.answer.error.message);
    const failed = await ended(broken.answer.runId!);
    expect(failed.endReason).toBe('error');
    expect(failed.error).toMatch(/safetensors|LPIPS|lpips/);
    const pixel = await upload(fx.server.url, photo, { loss: 'pixel', wSteps: '4', wPlusSteps: '2' });
    if (!pixel.answer.ok) throw new Error(pixel.answer.error.message);
    expect((await ended(pixel.answer.runId!)).endReason).toBe('done');
  });
});

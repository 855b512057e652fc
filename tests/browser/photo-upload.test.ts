/**
 * A room from a photo in a real browser: Ann chooses a photo on the home page, moves and zooms the crop,
 * creates the room and lands in it; Bob opens the watch link; both watch the inversion's frames and its end.
 * The only worker is kept busy by a drag in another room until both have joined, so the inversion cannot end
 * before Bob arrives. Set-up in browser-studio.ts (production app on the studio server, Debian's Chromium).
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import { call, connectSocket, connectYjs, createRoom, user } from '../server/helpers.js';
import { HAS_CHROMIUM, stagePixels, useBrowserStudio } from './browser-studio.js';

describe.skipIf(!HAS_CHROMIUM)('a room from a photo in the browser', () => {
  // The blocking drag (lr 0.0001) must not end as stalled while it holds the worker.
  const studio = useBrowserStudio({ width: 1360, height: 1000 }, { limits: { stallSteps: 100_000 } });

  it('chooses, crops and uploads a photo; two people watch its inversion', async () => {
    // Keep the worker busy (a slow drag elsewhere) until both watchers are in the photo's room.
    const other = await createRoom(studio.server.url);
    const y = await connectYjs(studio.server.url, other.roomId, other.editToken);
    addPoint(y.doc, [4, 4], user('zed'));
    addPoint(y.doc, [28, 28], user('zed'));
    updateSettings(y.doc, { lr: 0.0001, maxSteps: 1000 });
    await new Promise((r) => setTimeout(r, 200));
    y.destroy();
    const zed = await connectSocket(studio.server.url);
    await call(zed, 'room:join', { token: other.editToken, user: user('zed') });
    await call(zed, 'run:start');

    const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 60, b: 40 } } })
      .composite([{ input: await sharp({ create: { width: 32, height: 48, channels: 3, background: { r: 40, g: 80, b: 220 } } }).png().toBuffer(), left: 32, top: 0 }])
      .png()
      .toBuffer();
    const ann = await studio.userPage('Ann', '#e5484d');
    await ann.goto(studio.server.url);
    await ann.getByTestId('photo-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: photo });
    // The square model's crop: 48x48, centred in the 64x48 photo.
    await expect.poll(() => ann.getByTestId('photo-crop').textContent()).toBe('crop 48×48 at 8,0 of 64×48');
    // Drag the rectangle to the left edge, then zoom in about its centre (the range input steps by 0.1).
    const box = (await ann.getByTestId('photo-crop-rect').boundingBox())!;
    await ann.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await ann.mouse.down();
    await ann.mouse.move(box.x + box.width / 2 - 200, box.y + box.height / 2, { steps: 5 });
    await ann.mouse.up();
    await expect.poll(() => ann.getByTestId('photo-crop').textContent()).toBe('crop 48×48 at 0,0 of 64×48');
    await ann.getByTestId('photo-zoom').focus();
    for (let i = 0; i < 10; i++) await ann.keyboard.press('ArrowRight');
    await expect.poll(() => ann.getByTestId('photo-crop').textContent()).toBe('crop 24×24 at 12,12 of 64×48');
    await ann.getByTestId('photo-wSteps').fill('200');
    await ann.getByTestId('photo-wPlusSteps').fill('50');
    await ann.getByTestId('create-photo-room').click();
    await ann.waitForURL(/\/r\/[A-Za-z0-9_-]+$/, { timeout: 60_000 });

    const token = ann.url().split('/r/')[1];
    const found = (await studio.server.store.findByToken(token))!;
    const [inversion] = await studio.server.store.listRuns(found.room.id);
    expect(inversion).toBeUndefined(); // queued behind the busy worker: not started, so not recorded yet
    const bob = await studio.userPage('Bob', '#0090ff');
    await bob.goto(`${studio.server.url}/r/${found.room.viewToken}`);
    for (const page of [ann, bob]) await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    const before = await stagePixels(bob);
    await call(zed, 'run:stop');
    zed.disconnect();

    // Both see the inversion's frames (its stage and loss show while they come), then its end.
    await expect.poll(async () => (await ann.getByTestId('inversion-stage').count()) + (await bob.getByTestId('inversion-stage').count()), { timeout: 60_000 }).toBe(2);
    for (const page of [ann, bob]) {
      await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 120_000 }).toMatch(/^Done after 250 steps/);
    }
    expect(await stagePixels(bob)).not.toBe(before);
    const [run] = await studio.server.store.listRuns(found.room.id);
    expect(run).toMatchObject({ kind: 'invert', endReason: 'done', steps: 250 });
  }, 300_000);
});

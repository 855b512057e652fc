/**
 * Timeline and fork in a real browser (issue 5): after a drag run, Ann scrubs to the middle of it (Bob, in
 * the same room, is not disturbed), forks from that step, and lands in the new room, which shows where it
 * came from and holds that step's handles and targets; the parent lists its fork. Set-up in browser-studio.ts
 * (production app on the studio server, playwright-core on Debian's Chromium).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { addPoint, updateSettings } from '../../contract/room-doc.js';
import { connectYjs, createRoom, user } from '../server/helpers.js';
import { ARTIFACTS, HAS_CHROMIUM, stagePixels, useBrowserStudio } from './browser-studio.js';

describe.skipIf(!HAS_CHROMIUM)('fork from the timeline in the browser', () => {
  const studio = useBrowserStudio({ width: 1360, height: 1000 });
  const userPage = studio.userPage;

  it('scrubs to the middle of a run, forks there, opens the linked new room; the parent undoes and redoes', async () => {
    const room = await createRoom(studio.server.url, 5);
    const y = await connectYjs(studio.server.url, room.roomId, room.editToken);
    addPoint(y.doc, [10, 12], user('ann'));
    addPoint(y.doc, [20, 16], user('ann'));
    updateSettings(y.doc, { lr: 0.01, maxSteps: 12 });
    await new Promise((r) => setTimeout(r, 150));
    y.destroy();

    const ann = await userPage('Ann', '#e5484d');
    const bob = await userPage('Bob', '#0090ff');
    for (const page of [ann, bob]) {
      await page.goto(`${studio.server.url}/r/${room.editToken}`);
      await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    }
    await ann.getByTestId('start-run').click();
    for (const page of [ann, bob]) {
      await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 60_000 }).toMatch(/Reached|step limit/);
    }
    await expect.poll(() => ann.locator('[data-testid=timeline-runs] li').count()).toBe(1);
    const [run] = await studio.server.store.listRuns(room.roomId);
    const mid = Math.floor(run.recorded / 2);
    const midStep = (await studio.server.store.getStep(run.id, mid))!;
    await new Promise((r) => setTimeout(r, 300));
    const bobBefore = await stagePixels(bob);
    const annNow = await stagePixels(ann);

    // Ann picks the run and scrubs to its middle: her stage shows that step, Bob's does not change.
    await ann.getByTestId('timeline-run-1').click();
    await ann.getByTestId('timeline-scrubber').fill(String(mid));
    await expect.poll(() => ann.getByTestId('timeline-step').textContent()).toMatch(new RegExp(`^step ${mid} /`));
    await expect.poll(() => stagePixels(ann)).not.toBe(annNow);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stagePixels(bob)).toBe(bobBefore);

    // Replay at a chosen speed runs on to the last step, then Ann scrubs back to the middle.
    await ann.getByTestId('timeline-speed').selectOption('25');
    await ann.getByTestId('timeline-play').click();
    await expect.poll(() => ann.getByTestId('timeline-step').textContent(), { timeout: 10_000 }).toBe(`step ${run.recorded - 1} / ${run.recorded - 1}`);
    await expect.poll(() => ann.getByTestId('timeline-play').textContent()).toMatch(/Replay/);
    await ann.getByTestId('timeline-scrubber').fill(String(mid));
    await expect.poll(() => ann.getByTestId('timeline-step').textContent()).toMatch(new RegExp(`^step ${mid} /`));
    expect(await stagePixels(bob)).toBe(bobBefore);

    // Fork: Ann lands in the new room.
    await ann.getByTestId('timeline-fork').click();
    await ann.waitForURL((url) => /\/r\/[A-Za-z0-9_-]{24}$/.test(url.pathname) && !url.pathname.endsWith(room.editToken), { timeout: 20_000 });
    await expect.poll(() => ann.getByTestId('connection').getAttribute('data-state')).toBe('ok');
    await expect.poll(() => ann.getByTestId('fork-parent').textContent()).toMatch(new RegExp(`Forked from .* at step ${mid}`));
    const fmt = (p: [number, number]) => `${Math.round(p[0])}, ${Math.round(p[1])}`;
    await expect.poll(() => ann.locator('[data-testid=pair-list] .chip.handle').textContent()).toBe(fmt(midStep.handles[0]));
    await expect.poll(() => ann.locator('[data-testid=pair-list] .chip.target').textContent()).toBe('20, 16');
    const forks = await studio.server.store.listForks(room.roomId);
    expect(forks).toHaveLength(1);
    expect(forks[0]).toMatchObject({ forkRunId: run.id, forkStep: mid });
    expect(ann.url().endsWith(forks[0].editToken)).toBe(true);

    // The parent lists its fork (Bob is still there).
    await expect.poll(() => bob.getByTestId('fork-children').textContent()).toContain(forks[0].title);

    // Bob undoes the drag in the parent (his stage goes back to the start) and redoes it.
    const bobAfterRun = await stagePixels(bob);
    await expect.poll(() => bob.getByTestId('history-redo').isDisabled()).toBe(true);
    await bob.getByTestId('history-undo').click();
    await expect.poll(() => stagePixels(bob)).not.toBe(bobAfterRun);
    await expect.poll(() => bob.getByTestId('history-undo').isDisabled()).toBe(true);
    await bob.getByTestId('history-redo').click();
    await expect.poll(() => stagePixels(bob)).toBe(bobAfterRun);
    await expect.poll(() => bob.locator('[data-testid=timeline-runs] li').allTextContents()).toEqual([
      expect.stringMatching(/^#1 stabledrag/),
      expect.stringMatching(/^#2 undo · Bob/),
      expect.stringMatching(/^#3 redo · Bob/),
    ]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await ann.screenshot({ path: join(ARTIFACTS, 'fork-room.png') });
  });
});

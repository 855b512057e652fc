/**
 * The event loop at the documented limits (server README, "Access, limits and faults"): in a 128 px room
 * whose mask fills the document limits, with a timeline of 300 entries and a 1000-step run, a DragBench mask
 * export, a run start, history pages and both animation exports served at once never hold the server's loop
 * (this process) for long. Also the history pages' cursor, the animation's sampling and the export slots.
 */
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { BUNDLED_MODEL } from '../../server/config.js';
import { DEFAULT_LIMITS } from '../../server/limits.js';
import { rasterizeMask } from '../../contract/mask.js';
import { HISTORY_PAGE, type HistoryPage, type RunEnded } from '../../contract/events.js';
import { addMaskStroke, addPoint, readMask, updateSettings } from '../../contract/room-doc.js';
import { sampleSteps } from '../../server/runs/history-export.js';
import { measureLoopDelay, replaceLastStroke, storedFrames, worstCaseStrokes, writeLongRun, writeShortRuns } from '../../server/tools/stall-scenario.js';
import { TINY_MODEL, call, connectSocket, connectYjs, user, useServerFixture, waitFor, type ClientSocket } from './helpers.js';

/** What the issue budgets is 50 ms; the assertion leaves room for a loaded 2-core CI machine. */
const STALL_BOUND_MS = 200;
const RES = 128;
const LONG_RUN_STEPS = 1000;
const SHORT_RUNS = 300;

const MODELS = [
  { id: 'faces', label: 'Faces 128 px', path: BUNDLED_MODEL },
  { id: 'tiny', label: 'Tiny', path: TINY_MODEL },
];

describe('event-loop stalls', () => {
  const fx = useServerFixture({ per: 'file' });
  let room: { roomId: string; editToken: string; viewToken: string };
  let ann: ClientSocket;
  let longRun: string;
  let frames: Uint8Array[];
  const ended: RunEnded[] = [];

  const get = async (path: string) => {
    const res = await fetch(fx.server.url + path);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  };

  it('serves a mask export, a run start, history pages and animations of a long run at the limits without stalling', async () => {
    // Three exports at once below: the mask and both animations.
    await fx.restart({ models: MODELS, limits: { exportsInFlight: 3 } });
    ann = await connectSocket(fx.server.url);
    fx.onCleanup(() => ann.disconnect());
    room = await call(ann, 'room:create', { title: 'limits', model: 'faces', seed: 3 });
    const y = await connectYjs(fx.server.url, room.roomId, room.editToken);
    fx.onCleanup(y.destroy);
    y.doc.transact(() => {
      addPoint(y.doc, [40, 40], user('ann'));
      addPoint(y.doc, [60, 50], user('ann'));
      for (const s of worstCaseStrokes(RES)) addMaskStroke(y.doc, s, { size: RES });
      updateSettings(y.doc, { lr: 0.0001, maxSteps: 1000 });
    });
    expect(readMask(y.doc).reduce((n, s) => n + s.points.length, 0)).toBe(100_000);
    const serverHasMask = async () => {
      const doc = await fx.server.docs.acquire(room.roomId);
      const last = readMask(doc).at(-1)?.id;
      fx.server.docs.release(doc);
      return last === readMask(y.doc).at(-1)?.id;
    };
    while (!(await serverHasMask())) await new Promise((r) => setTimeout(r, 50));
    frames = await storedFrames(8, RES);
    await writeShortRuns(fx.server.store, room.roomId, SHORT_RUNS);
    longRun = await writeLongRun(fx.server.store, room.roomId, LONG_RUN_STEPS, frames);
    await call(ann, 'room:join', { token: room.editToken, user: user('ann') });
    ann.on('run:ended', (e) => ended.push(e));
    let framesSeen = 0;
    ann.on('run:frame', (_f, ack) => {
      framesSeen++;
      ack();
    });
    const requests = () =>
      Promise.all([
        get(`/api/rooms/${room.viewToken}/dragbench/mask.png`),
        (async () => {
          const seen = framesSeen;
          const started = await call<{ runId: string }>(ann, 'run:start');
          await waitFor(() => framesSeen > seen, 'the run to send its first frame', 120_000);
          await call(ann, 'run:stop');
          await waitFor(() => ended.some((e) => e.runId === started.runId), 'the run to end', 60_000);
          return started.runId;
        })(),
        call<HistoryPage>(ann, 'history:list', {}),
        get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.webp`),
        get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.gif`),
      ]);

    // Once unmeasured: the first use of each query costs Prisma a plan (tens of ms, once per process) and
    // V8 compiles the rasteriser. Then a mask the server has not seen, still at the limits.
    await requests();
    replaceLastStroke(y.doc, RES, 0.5);
    while (!(await serverHasMask())) await new Promise((r) => setTimeout(r, 50));
    const strokes = readMask(y.doc);
    const { value, delay } = await measureLoopDelay(requests);
    console.log(
      `[stalls] loop busy at most ${delay.busyMaxMs.toFixed(1)} ms at a stretch; timer late at most ${delay.lateMaxMs.toFixed(1)} ms ` +
        `(histogram max ${delay.histogramMaxMs.toFixed(1)} ms, p99 ${delay.p99Ms.toFixed(1)} ms)`,
    );
    expect(delay.busyMaxMs).toBeLessThan(STALL_BOUND_MS);

    const [mask, runId, page, webp, gif] = value;
    // Exactly the mask the app rasterises from the same strokes.
    expect(mask.status).toBe(200);
    const png = PNG.sync.read(mask.body);
    const want = rasterizeMask(strokes, RES)!;
    expect(png.width).toBe(RES);
    expect(want.every((v, i) => png.data[i * 4] === (v ? 255 : 0))).toBe(true);
    // The run took the same mask.
    expect((await fx.server.store.getRun(runId))?.mask).toEqual(want);
    // The newest page of the timeline. The long run, the short ones, the warm-up's run, and this round's run if it was recorded by then.
    expect(page.total).toBeGreaterThanOrEqual(SHORT_RUNS + 2);
    expect(page.runs).toHaveLength(HISTORY_PAGE.defaultRuns);
    expect(page.runs.at(-1)!.seq).toBe(page.total);
    expect(page.older).toBe(page.runs[0].seq);
    expect(page.runs.find((r) => r.runId === longRun)?.recorded).toBe(LONG_RUN_STEPS);
    for (const [anim, type] of [[webp, 'image/webp'], [gif, 'image/gif']] as const) {
      expect(anim.status).toBe(200);
      expect(anim.headers.get('content-type')).toBe(type);
      const meta = await sharp(anim.body, { animated: true }).metadata();
      expect(meta.pages).toBe(DEFAULT_LIMITS.animationFrames);
      expect(meta.pageHeight).toBe(RES);
    }
  });

  it('pages the whole timeline with a cursor, newest first, and refuses pages past the bound', async () => {
    const seen: number[] = [];
    let page = await call<HistoryPage>(ann, 'history:list', { limit: HISTORY_PAGE.maxRuns });
    for (;;) {
      expect(page.runs.map((r) => r.seq)).toEqual([...page.runs.map((r) => r.seq)].sort((a, b) => a - b));
      seen.unshift(...page.runs.map((r) => r.seq));
      if (page.older === null) break;
      expect(page.older).toBe(page.runs[0].seq);
      page = await call<HistoryPage>(ann, 'history:list', { before: page.older, limit: HISTORY_PAGE.maxRuns });
    }
    expect(seen).toEqual(Array.from({ length: SHORT_RUNS + 3 }, (_, i) => i + 1));
    for (const bad of [{ limit: HISTORY_PAGE.maxRuns + 1 }, { limit: 0 }, { before: 0 }, { before: 1.5 }, { cursor: 3 }]) {
      await expect(call(ann, 'history:list', bad), JSON.stringify(bad)).rejects.toMatchObject({ code: 'invalid' });
    }
  });

  it('samples a long run evenly for its animation, keeping its first and last step', async () => {
    const steps = sampleSteps(LONG_RUN_STEPS, DEFAULT_LIMITS.animationFrames);
    expect(steps).toHaveLength(DEFAULT_LIMITS.animationFrames);
    expect([steps[0], steps.at(-1)]).toEqual([0, LONG_RUN_STEPS - 1]);
    expect(sampleSteps(5, 240)).toEqual([0, 1, 2, 3, 4]);
    const anim = await get(`/api/rooms/${room.viewToken}/runs/${longRun}/animation.webp`);
    const page = (n: number) => sharp(anim.body, { page: n }).removeAlpha().raw().toBuffer();
    const frame = (step: number) => sharp(frames[step % frames.length]).removeAlpha().raw().toBuffer();
    expect((await page(0)).equals(await frame(0))).toBe(true);
    expect((await page(steps.length - 1)).equals(await frame(LONG_RUN_STEPS - 1))).toBe(true);
    expect((await page(100)).equals(await frame(steps[100]))).toBe(true);
  });

  it('makes at most exportsInFlight exports at once: the others get 503 with Retry-After, and later ones succeed', async () => {
    await fx.restart({ models: MODELS, limits: { exportsInFlight: 1 } });
    const path = `/api/rooms/${room.viewToken}/runs/${longRun}/animation.webp`;
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(path)));
    const busy = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(busy[0].headers.get('retry-after')).toBe('2');
    expect(busy[0].body.toString()).toMatch(/busy.*try again in 2 s/);
    expect((await get(path)).status).toBe(200);
  });
});

// End-to-end drags on the tiny random-weight parity model (32 px) on the wasm backend.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DragInputError,
  dragRun,
  generatorFromBytes,
  initBackend,
  type DragEvent,
  type DragRequest,
  type DragStepEvent,
  type ImageGenerator,
} from '../../engine/src/index.js';

let gen: ImageGenerator;
let latent: Float32Array;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  gen = generatorFromBytes(readFileSync(new URL('../fixtures/parity/model.safetensors', import.meta.url)), 'parity');
  latent = gen.latentFromSeed(3);
});

async function collect(request: DragRequest, signal?: AbortSignal): Promise<DragEvent[]> {
  const events: DragEvent[] = [];
  for await (const ev of dragRun(gen, request, signal)) events.push(ev);
  return events;
}

const steps = (events: DragEvent[]) => events.filter((e): e is DragStepEvent => e.type === 'step');
const pair = { handle: [10, 16] as [number, number], target: [20, 16] as [number, number] };

describe('drag runs', () => {
  for (const method of ['draggan', 'stabledrag'] as const) {
    it(`${method} moves the tracked handle towards its target and reports every step`, async () => {
      const events = await collect({ latent, points: [pair], options: { method, maxSteps: 40, lr: 0.01 } });
      const s = steps(events);
      const end = events.at(-1)!;
      expect(end.type).toBe('end');
      expect(['reached', 'max-steps']).toContain(end.type === 'end' && end.reason);
      expect(s[0].distances[0]).toBeCloseTo(10, 5);
      expect(s.at(-1)!.distances[0]).toBeLessThan(7);
      for (const ev of s) {
        expect(ev.latent).toHaveLength(gen.numWs * gen.wDim);
        expect(ev.image?.data).toHaveLength(32 * 32 * 4);
        expect(ev.confidences[0]).toBeGreaterThan(-2);
      }
    });
  }

  it('is deterministic: the same request gives identical frames and latents', async () => {
    const request: DragRequest = { latent, points: [pair], options: { method: 'stabledrag', maxSteps: 6 } };
    const a = steps(await collect(request));
    const b = steps(await collect(request));
    expect(a.length).toBe(b.length);
    a.forEach((ev, i) => {
      expect(Buffer.from(ev.image!.data).equals(Buffer.from(b[i].image!.data))).toBe(true);
      expect(Buffer.from(ev.latent.buffer).equals(Buffer.from(b[i].latent.buffer))).toBe(true);
      expect(ev.handles).toEqual(b[i].handles);
    });
  });

  it('leaks no tensors: the count after step 5 equals the count after step 50', async () => {
    const counts: number[] = [];
    // A fractional target is never hit exactly by integer tracking, so the run goes all 60 steps.
    const mask = new Uint8Array(32 * 32).fill(1, 0, 32 * 20);
    for await (const ev of dragRun(gen, { latent, mask, points: [{ handle: [10, 16], target: [20.5, 16.5] }], options: { maxSteps: 60, stopDistance: 0, stallSteps: 0 } })) {
      if (ev.type === 'step') counts[ev.step] = tf.memory().numTensors;
    }
    expect(counts[50]).toBe(counts[5]);
  });

  it('emits images only every N steps, and always on the last step', async () => {
    const s = steps(await collect({ latent, points: [pair], options: { maxSteps: 7, imageEvery: 3, stopDistance: 0 } }));
    expect(s.map((e) => e.image !== undefined)).toEqual([true, false, false, true, false, false, true, true]);
  });

  it('cancels between steps when the signal aborts', async () => {
    const controller = new AbortController();
    const events: DragEvent[] = [];
    for await (const ev of dragRun(gen, { latent, points: [pair], options: { maxSteps: 100, stopDistance: 0, stallSteps: 0 } }, controller.signal)) {
      events.push(ev);
      if (ev.type === 'step' && ev.step === 2) controller.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'cancelled', steps: 3 });
    expect(steps(events)).toHaveLength(3);
  });

  it('keeps the fixed region closer to the original with a mask', async () => {
    // Only the band around the handle row may change.
    const mask = new Uint8Array(32 * 32);
    for (let y = 8; y < 24; y++) mask.fill(1, y * 32, y * 32 + 32);
    const original = steps(await collect({ latent, points: [pair], options: { maxSteps: 0 } }))[0].image!.data;
    const change = (data: Uint8ClampedArray) => {
      let sum = 0;
      for (let p = 0; p < 32 * 32; p++) if (!mask[p]) for (let c = 0; c < 3; c++) sum += Math.abs(data[p * 4 + c] - original[p * 4 + c]);
      return sum;
    };
    const opts = { method: 'draggan' as const, maxSteps: 15, lr: 0.01, stopDistance: 0 };
    const free = steps(await collect({ latent, points: [pair], options: opts })).at(-1)!.image!.data;
    const masked = steps(await collect({ latent, points: [pair], mask, options: { ...opts, lambda: 50 } })).at(-1)!.image!.data;
    expect(change(masked)).toBeLessThan(change(free));
  });

  it('turns latent enhancement on and off with the confidence threshold', async () => {
    const run = async (threshold: number) => steps(await collect({ latent, points: [pair], options: { maxSteps: 5, stopDistance: 0, enhancement: { threshold } } }));
    const always = await run(1);
    const never = await run(0);
    // Step 0 is at full confidence (1), not below 1; every later step is below a threshold of 1.
    expect(always.slice(1, -1).every((e) => e.enhanced[0])).toBe(true);
    expect(never.every((e) => !e.enhanced[0])).toBe(true);
    expect(Buffer.from(always.at(-1)!.latent.buffer).equals(Buffer.from(never.at(-1)!.latent.buffer))).toBe(false);
  });

  it('rejects bad input with a typed error before running', () => {
    const bad: Array<[string, Partial<DragRequest>]> = [
      ['outside', { points: [{ handle: [40, 3], target: [5, 5] }] }],
      ['NaN', { points: [{ handle: [NaN, 3], target: [5, 5] }] }],
      ['no pairs', { points: [] }],
      ['mask size', { points: [pair], mask: new Uint8Array(10) }],
      ['latent size', { points: [pair], latent: new Float32Array(3) }],
      ['option range', { points: [pair], options: { lr: -1 } }],
      ['method', { points: [pair], options: { method: 'magic' as never } }],
    ];
    for (const [what, patch] of bad) {
      expect(() => dragRun(gen, { latent, points: [pair], ...patch }), what).toThrow(DragInputError);
    }
    expect(() => dragRun(gen, { latent, points: [{ handle: [40, 3], target: [5, 5] }] })).toThrow(/outside the 32x32 image/);
  });
});

describe('latent spaces', () => {
  it("'w' and 'w+' both start from the given latent, even one whose style vectors differ", async () => {
    const mixed = latent.slice();
    for (let i = gen.wDim; i < 2 * gen.wDim; i++) mixed[i] += 0.5;
    for (const latentSpace of ['w', 'w+'] as const) {
      const first = steps(await collect({ latent: mixed, points: [pair], options: { latentSpace, maxSteps: 2 } }));
      expect(Buffer.from(first[0].latent.buffer).equals(Buffer.from(mixed.buffer))).toBe(true);
      // In 'w' every optimised vector moves by the same offset.
      const last = first.at(-1)!.latent;
      const d0 = last[0] - mixed[0];
      const d1 = last[gen.wDim] - mixed[gen.wDim];
      if (latentSpace === 'w') expect(d1).toBeCloseTo(d0, 5);
      expect(d0).not.toBe(0);
    }
  });

  it("ends as 'stalled' when the handles stop getting closer, and never with stallSteps 0", async () => {
    // lr 1e-6 (the smallest allowed) leaves the image all but unchanged, so the tracked handle stays put.
    const base = { lr: 1e-6, maxSteps: 30, stallSteps: 10 };
    const stalled = await collect({ latent, points: [pair], options: base });
    expect(stalled.at(-1)).toMatchObject({ type: 'end', reason: 'stalled' });
    const s = steps(stalled);
    expect(s).toHaveLength(11); // steps 0-10: no 1 px gain since step 0
    expect(Math.abs(s.at(-1)!.distances[0] - 10)).toBeLessThan(1);
    expect(s.at(-1)!.image).toBeDefined(); // the last step always carries its image
    const full = await collect({ latent, points: [pair], options: { ...base, stallSteps: 0 } });
    expect(full.at(-1)).toMatchObject({ type: 'end', reason: 'max-steps' });
    await expect(collect({ latent, points: [pair], options: { stallSteps: -1 } })).rejects.toThrow(/stallSteps must be in \[0, 1000000000\]/);
  });

  it('optimises every style vector when optimizedLayers is all of them, in w and w+', async () => {
    for (const latentSpace of ['w', 'w+'] as const) {
      const options = { latentSpace, optimizedLayers: gen.numWs, featureLayer: 3, maxSteps: 4, lr: 0.01 };
      const events = await collect({ latent, points: [pair], options });
      expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'max-steps' });
      const last = steps(events).at(-1)!.latent;
      // Style vector 6 (the 32 px block's second conv, beyond the default six) shapes the features and moved.
      const k = 6 * gen.wDim;
      expect(last[k]).not.toBe(latent[k]);
    }
  });
});

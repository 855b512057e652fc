// Pivotal tuning as the inversion's third stage, and the room's compact weights delta, on the tiny parity
// model (32 px, wasm): PTI improves on W alone, streams like the other stages, stops between steps, and its
// delta round-trips through bytes while wrong, corrupt and malformed files are refused.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyPtiWeights,
  baseModelFromBytes,
  generatorFromBytes,
  initBackend,
  InvertInputError,
  invertRun,
  psnr,
  ptiWeightsMetadata,
  PtiWeightsError,
  PTI_WEIGHTS_METADATA_KEY,
  randomModelBytes,
  type BaseModel,
  type ImageGenerator,
  type InvertEndEvent,
  type InvertEvent,
  type InvertRequest,
  type InvertStageEvent,
  type InvertStepEvent,
  type RGBAImage,
} from '../../engine/src/index.js';
import { parseSafetensors, serializeSafetensors } from '../../engine/src/io/safetensors.js';
import { lowRankFactors, multiplyFactors, rankForEnergy, svd } from '../../engine/src/invert/pti/low-rank.js';

const modelBytes = readFileSync(new URL('../fixtures/parity/model.safetensors', import.meta.url));
let gen: ImageGenerator;
let base: BaseModel;
let target: RGBAImage;
/** The run every round-trip test reuses: W then PTI. */
let run: { stages: InvertStageEvent[]; steps: InvertStepEvent[]; end: InvertEndEvent };

async function collect(request: InvertRequest, signal?: AbortSignal, onEvent?: (e: InvertEvent) => void): Promise<InvertEvent[]> {
  const events: InvertEvent[] = [];
  for await (const ev of invertRun(gen, request, signal)) {
    events.push(ev);
    onEvent?.(ev);
  }
  return events;
}

// lr 1e-2 rather than the paper's 3e-4: a handful of steps on a random-weight model must show the effect.
const fast = { wAvgSamples: 200, imageEvery: 5, wSteps: 30, wPlusSteps: 0, ptiSteps: 30, ptiLr: 1e-2 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  gen = generatorFromBytes(modelBytes, 'parity');
  base = baseModelFromBytes(modelBytes, 'parity');
  // Held out: a seed the W stage starts far from.
  target = gen.render(gen.latentFromSeed(11, 1));
  const events = await collect({ target, ptiBase: base, options: fast });
  run = {
    stages: events.filter((e): e is InvertStageEvent => e.type === 'stage'),
    steps: events.filter((e): e is InvertStepEvent => e.type === 'step'),
    end: events.at(-1) as InvertEndEvent,
  };
}, 120_000);

describe('pivotal tuning stage', () => {
  it('raises PSNR over W alone, streaming steps and frames like the other stages', () => {
    expect(run.end).toMatchObject({ type: 'end', reason: 'done', steps: 60 });
    expect(run.stages.map((s) => s.stage)).toEqual(['w', 'pti']);
    const pti = run.steps.filter((s) => s.stage === 'pti');
    expect(pti.map((s) => s.stageStep)).toEqual([...Array(30).keys()]);
    expect(pti.filter((s) => s.image).map((s) => s.stageStep)).toEqual([0, 5, 10, 15, 20, 25, 29]);
    expect(pti.every((s) => Number.isFinite(s.loss) && s.lr === 1e-2)).toBe(true);
    // The pivot stays the W result.
    expect(pti.every((s) => s.latent === run.stages[0].latent || s.latent.every((v, i) => v === run.stages[0].latent[i]))).toBe(true);
    const [w, tuned] = run.stages;
    expect(tuned.psnr).toBeGreaterThan(w.psnr + 1);
    expect(tuned.ssim).toBeGreaterThan(w.ssim);
    expect(tuned.ptiWeights).toBeInstanceOf(Uint8Array);
    expect(tuned.weightsBytes).toBe(tuned.ptiWeights!.length);
    expect(run.end.ptiWeights).toBe(tuned.ptiWeights);
  });

  it('the stored delta renders the tuned image: serialise, load, apply', () => {
    const bytes = Uint8Array.from(run.end.ptiWeights!);
    const meta = ptiWeightsMetadata(bytes);
    expect(meta.model).toEqual({ id: base.id, name: gen.config.name });
    expect(meta.psnrVsFull === null || meta.psnrVsFull >= 40).toBe(true);
    const tunedGen = applyPtiWeights(base, bytes);
    try {
      const image = tunedGen.render(run.end.latent);
      // The inference generator with the compact delta vs the trainable view's own render of the full weights.
      expect(psnr(image, run.stages[1].image)).toBeGreaterThan(35);
      expect(psnr(image, target)).toBeGreaterThan(run.stages[0].psnr + 1);
    } finally {
      tunedGen.dispose();
    }
  });

  it('Stop between PTI steps ends cancelled with the latent and the weights as they were, releasing its tensors', async () => {
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const events = await collect({ target, ptiBase: base, options: { ...fast, wSteps: 5 } }, controller.signal, (e) => {
      if (e.type === 'step' && e.stage === 'pti' && e.stageStep === 2) controller.abort();
    });
    expect(tf.memory().numTensors).toBe(before);
    const end = events.at(-1) as InvertEndEvent;
    expect(end).toMatchObject({ type: 'end', reason: 'cancelled', steps: 8 });
    expect(end.stages.map((s) => s.stage)).toEqual(['w']);
    expect(ptiWeightsMetadata(end.ptiWeights!).model.id).toBe(base.id);
  });

  it('a failure during PTI ends with the W result as the last good state, no weights, nothing leaked', async () => {
    const failing: BaseModel = {
      ...base,
      get: (name) => {
        if (name.endsWith('b16.conv1.weight')) throw new Error('the model file went away');
        return base.get(name);
      },
    };
    const request = { target, ptiBase: failing, options: { ...fast, wSteps: 5 } };
    await collect(request);
    const before = tf.memory().numTensors;
    const events = await collect(request);
    const end = events.at(-1) as InvertEndEvent;
    expect(end).toMatchObject({ type: 'end', reason: 'error', steps: 5, error: { message: 'the model file went away' } });
    expect(end.stages.map((s) => s.stage)).toEqual(['w']);
    const w = events.find((e): e is InvertStageEvent => e.type === 'stage')!;
    expect(end.latent).toEqual(w.latent);
    expect(end.ptiWeights).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('without the base model there is no PTI stage; a different base model is refused at the call', async () => {
    const events = await collect({ target, options: { ...fast, wSteps: 3 } });
    const end = events.at(-1) as InvertEndEvent;
    expect(end.stages.map((s) => s.stage)).toEqual(['w']);
    expect(end.ptiWeights).toBeUndefined();
    const other = baseModelFromBytes(randomModelBytes({ ...gen.config, name: 'other' } as typeof gen.config, { seed: 3 }), 'other');
    expect(() => invertRun(gen, { target, ptiBase: other, options: fast })).toThrow(InvertInputError);
    expect(() => invertRun(gen, { target, ptiBase: base, options: { ...fast, ptiLr: 0 } })).toThrow(/ptiLr/);
  });
});

describe('PTI weights file', () => {
  const bytes = () => Uint8Array.from(run.end.ptiWeights!);

  it('is refused for a different model', () => {
    const otherBytes = randomModelBytes(gen.config, { seed: 5 });
    const other = baseModelFromBytes(otherBytes, 'other');
    expect(() => applyPtiWeights(other, bytes())).toThrow(PtiWeightsError);
    expect(() => applyPtiWeights(other, bytes())).toThrow(new RegExp(`tuned from model '${gen.config.name}' \\(sha256:[0-9a-f]{64}\\), not from`));
  });

  it('is refused when corrupt or malformed, with a clear error', () => {
    const b = bytes();
    expect(() => applyPtiWeights(base, b.subarray(0, b.length - 100))).toThrow(/PTI weights file is corrupt/);
    expect(() => applyPtiWeights(base, new Uint8Array(5))).toThrow(/corrupt/);
    expect(() => applyPtiWeights(base, new TextEncoder().encode('hello, this is not a weights file at all'))).toThrow(PtiWeightsError);
    const file = parseSafetensors(b);
    const rewrite = (edit: (t: Map<string, { shape: number[]; data: Float32Array; dtype: 'F16' | 'F32' }>) => void, meta = file.metadata) => {
      const tensors = new Map([...file.tensors].map(([k, v]) => [k, { ...v }]));
      edit(tensors);
      return serializeSafetensors(tensors, meta);
    };
    // No metadata: not a PTI file (a model file, say).
    expect(() => applyPtiWeights(base, rewrite(() => {}, {}))).toThrow(/not a PTI weights file/);
    expect(() => applyPtiWeights(base, rewrite(() => {}, { [PTI_WEIGHTS_METADATA_KEY]: '{nope' }))).toThrow(/not valid JSON/);
    const first = [...file.tensors.keys()].find((k) => k.endsWith('.delta'))!;
    expect(() => applyPtiWeights(base, rewrite((t) => t.set(first, { shape: [1], data: new Float32Array(1), dtype: 'F32' })))).toThrow(/expected \[/);
    expect(() => applyPtiWeights(base, rewrite((t) => t.delete(first)))).toThrow(/expected either/);
    expect(() => applyPtiWeights(base, rewrite((t) => t.set('mapping.fc0.weight.delta', { shape: [1], data: new Float32Array(1), dtype: 'F32' })))).toThrow(/unexpected tensor/);
    const nan = rewrite((t) => {
      const e = t.get(first)!;
      t.set(first, { ...e, data: Float32Array.from(e.data, (v, i) => (i === 0 ? NaN : v)) });
    });
    expect(() => applyPtiWeights(base, nan)).toThrow(/non-finite/);
  });
});

describe('low-rank factors', () => {
  it('recover a matrix exactly at full rank and a rank-3 matrix at rank 3', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (const [rows, cols] of [[7, 12], [12, 7]]) {
      const m = Float32Array.from({ length: rows * cols }, rand);
      const d = svd(m, rows, cols);
      const { a, b } = lowRankFactors(d, Math.min(rows, cols));
      const back = multiplyFactors(a, b, rows, Math.min(rows, cols), cols);
      expect(Math.max(...back.map((v, i) => Math.abs(v - m[i])))).toBeLessThan(1e-5);
    }
    const u = Float32Array.from({ length: 20 * 3 }, rand);
    const v = Float32Array.from({ length: 3 * 30 }, rand);
    const m = multiplyFactors(u, v, 20, 3, 30);
    const d = svd(m, 20, 30);
    expect(rankForEnergy(d.s, 0.999999)).toBe(3);
    const { a, b } = lowRankFactors(d, 3);
    const back = multiplyFactors(a, b, 20, 3, 30);
    expect(Math.max(...back.map((x, i) => Math.abs(x - m[i])))).toBeLessThan(1e-4);
  });
});

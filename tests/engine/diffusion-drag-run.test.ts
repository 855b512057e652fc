// A whole diffusion drag on the tiny fixture (random weights, 16 px images): LoRA stage, inversion, drag
// steps with previews and decodes, the final mutual-self-attention denoising; Stop between steps of any
// stage (LoRA, each DDIM step of the inversion and the denoising, the drag); bad requests refused before
// anything runs; the models left as loaded however a run ends.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiffusionInputError,
  DragInputError,
  decodeDiffusionLatent,
  diffusionDragRun,
  initBackend,
  loadDiffusionDragModels,
  type DiffusionDragEvent,
  type LoadedDiffusionDragModels,
  type DiffusionDragRequest,
} from '../../engine/src/index.js';
import { TINY_DIR } from './diffusion-reference.js';

const SIZE = 16;

function testImage(): DiffusionDragRequest['image'] {
  const data = new Uint8ClampedArray(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const i = (y * SIZE + x) * 4;
      // A bright square on a dark ground: something to drag.
      const inside = x >= 4 && x < 9 && y >= 5 && y < 10;
      data.set(inside ? [230, 200, 60, 255] : [20, 40, 90, 255], i);
    }
  }
  return { width: SIZE, height: SIZE, data };
}

const FAST = { ddimSteps: 10, maxSteps: 3, decodeEvery: 2, masaLayer: 2, lora: { steps: 2, batch: 2, rank: 4 } };

describe('diffusion drag run on the tiny fixture (wasm)', () => {
  let models: LoadedDiffusionDragModels;

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    models = loadDiffusionDragModels(TINY_DIR);
  }, 120_000);

  afterAll(() => models?.dispose());

  const request = (extra: Partial<DiffusionDragRequest> = {}): DiffusionDragRequest => ({
    image: testImage(),
    prompt: 'a photo of a cat',
    points: [{ handle: [6, 7], target: [12, 7] }],
    options: FAST,
    ...extra,
  });

  it('yields LoRA, inversion, one event per drag step, the denoising, and the edited image', async () => {
    const before = tf.memory().numTensors;
    const events: DiffusionDragEvent[] = [];
    for await (const e of diffusionDragRun(models, request({ mask: new Uint8Array(SIZE * SIZE).fill(1) }))) events.push(e);
    const kinds = events.map((e) => (e.type === 'stage' ? `${e.stage}` : e.type));
    // 10 DDIM steps at strength 0.7: 7 inversion steps, then the denoising's start and its 7 steps.
    const seven = <T,>(k: T) => Array<T>(7).fill(k);
    expect(kinds).toEqual(['lora', 'lora', ...seven('invert'), 'step', 'step', 'step', 'step', 'denoise', ...seven('denoise'), 'end']);
    const stageSteps = (stage: string) => events.flatMap((e) => (e.type === 'stage' && e.stage === stage ? [`${e.step}/${e.steps}`] : []));
    expect(stageSteps('invert')).toEqual([1, 2, 3, 4, 5, 6, 7].map((k) => `${k}/7`));
    expect(stageSteps('denoise')).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => `${k}/7`));
    const lora = events.filter((e) => e.type === 'stage' && e.stage === 'lora');
    expect(lora.map((e) => (e as { step: number }).step)).toEqual([1, 2]);
    expect(lora.every((e) => Number.isFinite((e as { loss: number }).loss))).toBe(true);
    const steps = events.filter((e) => e.type === 'step');
    steps.forEach((e, k) => {
      if (e.type !== 'step') return;
      expect(e.step).toBe(k);
      expect(e.handles).toHaveLength(1);
      expect(e.distances).toHaveLength(1);
      expect(e.confidences).toHaveLength(1);
      expect(e.enhanced).toHaveLength(1);
      expect(e.latent).toHaveLength(8 * 8 * 4);
      expect(e.preview.width).toBe(8);
      expect(e.preview.data).toHaveLength(8 * 8 * 4);
      // A VAE decode on steps 0 and 2 (every 2) and on the last.
      expect(e.image !== undefined).toBe(k % 2 === 0 || k === 3);
      if (e.image) expect([e.image.width, e.image.height]).toEqual([SIZE, SIZE]);
      expect(e.cleanLatent).toHaveLength(8 * 8 * 4);
      expect(Number.isNaN(e.loss)).toBe(k === 3);
    });
    const first = steps[0];
    const second = steps[1];
    if (first.type === 'step' && second.type === 'step') {
      expect(first.handles[0]).toEqual([6, 8]); // rounded onto the half-size feature grid: (3, 4) * 2
      expect(second.latent).not.toEqual(first.latent);
    }
    // A step's clean latent decodes with the VAE alone into exactly the image that step's decode gave.
    for (const e of steps) {
      if (e.type !== 'step' || !e.image) continue;
      const again = await decodeDiffusionLatent(models.vae, e.cleanLatent, SIZE, SIZE);
      expect(Buffer.from(again.data).equals(Buffer.from(e.image.data))).toBe(true);
    }
    await expect(decodeDiffusionLatent(models.vae, new Float32Array(10), SIZE, SIZE)).rejects.toThrow(/has 256 values, got 10/);
    const end = events[events.length - 1];
    expect(end).toMatchObject({ type: 'end', reason: 'max-steps', steps: 3 });
    if (end.type === 'end') expect(end.image!.data).toHaveLength(SIZE * SIZE * 4);
    expect(tf.memory().numTensors).toBe(before);
    expect(models.unet.transformers().every((t) => !t.block.attn1.toQ.adapter && !t.block.attn1.keysValuesFromFirst)).toBe(true);
  }, 180_000);

  it('StableDrag-Diff reports confidences from its tracker', async () => {
    const steps: number[][] = [];
    for await (const e of diffusionDragRun(models, request({ options: { ...FAST, method: 'stabledrag-diff', lora: { steps: 0 } } }))) {
      if (e.type === 'step') steps.push(e.confidences);
    }
    expect(steps).toHaveLength(4);
    expect(steps[0]).toEqual([1]);
    expect(steps.slice(1).every((c) => Number.isFinite(c[0]))).toBe(true);
  }, 120_000);

  it('stops between steps of every stage: LoRA, the DDIM inversion, the drag and the final denoising', async () => {
    const before = tf.memory().numTensors;
    // Each stage is stopped after its first step (the denoising's step 0 is its start, before any UNet pass).
    const cases = [['lora', 1], ['invert', 1], ['step', 1], ['denoise', 2]] as const;
    for (const [after, seen] of cases) {
      const controller = new AbortController();
      const events: DiffusionDragEvent[] = [];
      const ofStage = (e: DiffusionDragEvent) => e.type === after || (e.type === 'stage' && e.stage === after);
      for await (const e of diffusionDragRun(models, request(), controller.signal)) {
        events.push(e);
        if (ofStage(e) && events.filter(ofStage).length === seen) controller.abort();
      }
      const last = events[events.length - 1];
      expect(last, after).toMatchObject({ type: 'end', reason: 'cancelled' });
      if (last.type === 'end') expect(last.image).toBeUndefined();
      expect(events.filter(ofStage), after).toHaveLength(seen);
      expect(tf.memory().numTensors, after).toBe(before);
      expect(models.unet.transformers().every((t) => !t.block.attn1.keysValuesFromFirst), after).toBe(true);
    }
    expect(models.unet.transformers().every((t) => !t.block.attn2.toV.adapter)).toBe(true);
  }, 180_000);

  it('refuses bad requests by name before running anything', () => {
    const bad: Array<[Partial<DiffusionDragRequest>, RegExp, typeof DiffusionInputError | typeof DragInputError]> = [
      [{ image: { width: 15, height: 16, data: new Uint8ClampedArray(15 * 16 * 4) } }, /multiples of 4/, DiffusionInputError],
      [{ image: { width: 16, height: 16, data: new Uint8ClampedArray(10) } }, /image data has 10 bytes/, DiffusionInputError],
      [{ image: { width: 4096, height: 4096, data: new Uint8ClampedArray(0) } }, /image sides/, DiffusionInputError],
      [{ points: [] }, /at least one handle/, DragInputError],
      [{ points: [{ handle: [40, 2], target: [3, 3] }] }, /outside the 16x16 image/, DragInputError],
      [{ mask: new Uint8Array(3) }, /mask has 3 values/, DragInputError],
      [{ options: { method: 'draggan' as never } }, /method must be one of/, DiffusionInputError],
      [{ options: { inversionStrength: 0 } }, /inversionStrength must be in/, DiffusionInputError],
      [{ options: { lora: { rank: -1 } } }, /lora.rank must be in/, DiffusionInputError],
      [{ options: { tracker: { alpha: Number.NaN } } }, /tracker.alpha must be a finite number/, DiffusionInputError],
      [{ prompt: 'x'.repeat(20_000) }, /prompt/, DiffusionInputError],
    ];
    for (const [extra, message, type] of bad) {
      let error: unknown;
      try {
        diffusionDragRun(models, request(extra));
      } catch (err) {
        error = err;
      }
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
  });
});

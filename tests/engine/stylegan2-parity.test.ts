// The engine's StyleGAN2 against the OFFICIAL generators (NVlabs stylegan3's networks_stylegan2.py, DragGAN's
// StyleGAN-Human network), on fixtures made by training/reference/stylegan2_reference.py: a 256 px model with 8
// mapping layers and fp16 resolutions, a 128 px one with 2 mapping layers and an acting conv_clamp, and the
// non-square 512x256 StyleGAN-Human layout, native and padded to square as DragGAN renders it. Mapping, the
// block-6 features (DragGAN's feature_idx 5), those features resized to the image (F.interpolate, read the
// way the drag loop reads them) and the image match within 1e-3; a drag runs on each model.
import { describe, expect, it } from 'vitest';
import {
  dragRun,
  generatorFromBytes,
  initBackend,
  type BackendName,
  type DragEvent,
  type DragStepEvent,
  type ImageGenerator,
  type Point,
} from '../../engine/src/index.js';
import { checkMapping, checkSynthesis, synthesisReference, fixture, withConfig } from './stylegan2-reference.js';

const FIXTURES = ['sg2-256-map8', 'sg2-128-map2', 'human-512x256'];

describe.each<BackendName>(['cpu', 'wasm'])('StyleGAN2 parity with the official code on %s', (backend) => {
  it.each(FIXTURES)('%s: mapping, truncation, features, resized features and image within 1e-3', async (name) => {
    await initBackend({ backend, log: () => {} });
    const { modelBytes, expected, info } = fixture(name);
    const gen = generatorFromBytes(modelBytes, name);
    checkMapping(gen, expected, info);

    expect(gen.defaultFeatureLayer).toBe(info.feature_idx);
    const ws = expected.get('ws')!.data;
    checkSynthesis(gen, ws, info.feature_idx, synthesisReference(expected));
    gen.dispose();

    if (expected.has('padded_points')) {
      const padded = generatorFromBytes(withConfig(modelBytes, { pad_to_square: true }), `${name} padded`);
      expect([padded.width, padded.height]).toEqual([gen.height, gen.height]);
      checkSynthesis(padded, ws, info.feature_idx, synthesisReference(expected, 'padded_'));
      padded.dispose();
    }
  });
});

async function collect(gen: ImageGenerator, request: Parameters<typeof dragRun>[1]): Promise<DragEvent[]> {
  const events: DragEvent[] = [];
  for await (const ev of dragRun(gen, request)) events.push(ev);
  return events;
}

describe('a drag on each official-layout model (wasm)', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['sg2-256-map8', {}],
    ['sg2-128-map2', {}],
    ['human-512x256', {}],
    ['human-512x256', { pad_to_square: true }],
  ];
  it.each(cases)('%s %j: steps with a mask, frames of width x height, the latent moves', async (name, patch) => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const { modelBytes } = fixture(name);
    const gen = generatorFromBytes(withConfig(modelBytes, patch), name);
    const { width, height } = gen;
    // A handle at the middle moved right by an eighth of the width; the flexible region is the middle third.
    const handle: Point = [Math.round(width / 2), Math.round(height / 2)];
    const target: Point = [handle[0] + Math.round(width / 8), handle[1]];
    const mask = new Uint8Array(width * height);
    for (let y = Math.floor(height / 3); y < (2 * height) / 3; y++) for (let x = Math.floor(width / 3); x < (2 * width) / 3; x++) mask[y * width + x] = 1;
    const latent = gen.latentFromSeed(1);
    const events = await collect(gen, { latent, points: [{ handle, target }], mask, options: { maxSteps: 3, lr: 0.01, imageEvery: 1 } });
    const steps = events.filter((e): e is DragStepEvent => e.type === 'step');
    expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'max-steps', steps: 3 });
    expect(steps).toHaveLength(4);
    for (const ev of steps) expect([ev.image!.width, ev.image!.height, ev.image!.data.length]).toEqual([width, height, width * height * 4]);
    expect(steps[0].distances[0]).toBeCloseTo(Math.round(width / 8), 5);
    expect(Buffer.from(steps.at(-1)!.latent.buffer).equals(Buffer.from(latent.buffer))).toBe(false);
    // Points are checked against the non-square bounds: x up to width - 1, y up to height - 1.
    expect(() => dragRun(gen, { latent, points: [{ handle: [width, 0], target }] })).toThrow(`outside the ${width}x${height} image`);
    expect(() => dragRun(gen, { latent, points: [{ handle, target }], mask: new Uint8Array(width * width + 1) })).toThrow(/expected height x width/);
    gen.dispose();
  });
});

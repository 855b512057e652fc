// StyleGAN3 end to end: the importer's -T and -R fixture pickles (tests/fixtures/pickles) load and render in
// the engine with their stored filters equal to the engine's own design; a StableDrag and a DragGAN drag on
// the official-layout -T fixture (tests/fixtures/stylegan3/sg3t) and on the imported -R model take steps with
// finite latents and move the handle; the CLI imports, samples and drags an SG3 pickle.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  dragRun,
  expectedParams,
  generatorFromBytes,
  importCheckpoint,
  initBackend,
  loadGenerator,
  parseSafetensors,
  type DragEvent,
  type DragMethod,
  type DragStepEvent,
  type ImageGenerator,
  type Point,
} from '../../engine/src/index.js';
import { readPng } from '../../engine/src/io/png.js';

const pickles = new URL('../fixtures/pickles/', import.meta.url).pathname;
const out = mkdtempSync(path.join(tmpdir(), 'sd-sg3-import-'));
const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
const run = promisify(execFile);

async function collect(gen: ImageGenerator, request: Parameters<typeof dragRun>[1]): Promise<DragEvent[]> {
  const events: DragEvent[] = [];
  for await (const ev of dragRun(gen, request)) events.push(ev);
  return events;
}

/** A few drag steps from the image centre to the right; checks the run and returns its step events. */
async function dragSteps(gen: ImageGenerator, method: DragMethod): Promise<DragStepEvent[]> {
  const handle: Point = [128, 128];
  const target: Point = [160, 128];
  const latent = gen.latentFromSeed(2);
  const events = await collect(gen, { latent, points: [{ handle, target }], options: { method, maxSteps: 3, lr: 0.01, imageEvery: 3 } });
  expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'max-steps', steps: 3 });
  const steps = events.filter((e): e is DragStepEvent => e.type === 'step');
  expect(steps).toHaveLength(4);
  for (const s of steps) {
    expect(s.latent.every(Number.isFinite)).toBe(true);
    expect(s.handles[0].every(Number.isFinite)).toBe(true);
  }
  // Finite, non-zero gradients moved the latent at every step, and tracking followed the content.
  for (let i = 1; i < steps.length; i++) expect(Buffer.from(steps[i].latent.buffer).equals(Buffer.from(steps[i - 1].latent.buffer))).toBe(false);
  expect(steps.some((s) => s.handles[0][0] !== handle[0] || s.handles[0][1] !== handle[1])).toBe(true);
  expect(steps.slice(0, -1).every((s) => Number.isFinite(s.loss) && s.loss > 0)).toBe(true);
  expect(steps.at(-1)!.image).toMatchObject({ width: 256, height: 256 });
  return steps;
}

describe('StyleGAN3 models from the importer', () => {
  it.each(['sg3-t-256', 'sg3-r-256'])('%s imports, loads and renders 256 x 256 with its filters as designed', async (name) => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const result = await importCheckpoint(path.join(pickles, `${name}.pkl`), path.join(out, name));
    expect(result.config).toMatchObject({ architecture: 'stylegan3', img_resolution: 256, drag_layer: 5 });
    const file = parseSafetensors(readFileSync(result.modelFile));
    for (const spec of expectedParams(result.config as Parameters<typeof expectedParams>[0]).filter((s) => /_filter$/.test(s.name))) {
      const stored = file.tensors.get(spec.name)!.data;
      let diff = 0;
      for (let i = 0; i < stored.length; i++) diff = Math.max(diff, Math.abs(stored[i] - spec.value![i]));
      expect(diff, spec.name).toBeLessThan(1e-6);
    }
    const gen = await loadGenerator(path.dirname(result.modelFile));
    expect(gen.featureLayers()).toHaveLength(15);
    expect(gen.featureLayers()[gen.defaultFeatureLayer]).toMatchObject({ index: 5, name: 'L5_84_' + gen.featureLayers()[5].channels, width: 64, height: 64 });
    const image = gen.render(gen.latentFromSeed(0));
    expect([image.width, image.height, image.data.length]).toEqual([256, 256, 256 * 256 * 4]);
    expect(new Set(Array.from(image.data.subarray(0, 40000))).size).toBeGreaterThan(10);
    gen.dispose();
  });
});

describe('dragging a StyleGAN3 (wasm)', () => {
  it('StableDrag on the official-layout -T fixture: finite steps, latent and handle move', async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const bytes = readFileSync(new URL('../fixtures/stylegan3/sg3t/model.safetensors', import.meta.url));
    const gen = generatorFromBytes(bytes, 'sg3t');
    await dragSteps(gen, 'stabledrag');
    gen.dispose();
  });

  it('DragGAN on the imported -R model: finite steps, latent and handle move', async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
    const dir = path.join(out, 'drag-r');
    const result = await importCheckpoint(path.join(pickles, 'sg3-r-256.pkl'), dir);
    const gen = await loadGenerator(path.dirname(result.modelFile));
    await dragSteps(gen, 'draggan');
    gen.dispose();
  });
});

describe('stabledrag CLI on a StyleGAN3 pickle', () => {
  it('imports, samples a grid and drags with frames', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-sg3-cli-'));
    const model = path.join(dir, 'sg3t');
    const { stdout } = await run('node', [bin, 'import', path.join(pickles, 'sg3-t-256.pkl'), '--out', model]);
    expect(stdout).toMatch(/imported stylegan3 'sg3t' \(256x256, \d+ tensors\)/);
    const grid = path.join(dir, 'grid.png');
    await run('node', [bin, 'sample', '--model', model, '--seeds', '0-1', '--columns', '2', '--grid', grid]);
    const g = readPng(grid);
    expect([g.width, g.height]).toEqual([512, 256]);
    const frames = path.join(dir, 'frames');
    const { stderr } = await run('node', [bin, 'drag', '--model', model, '--seed', '3', '--points', '100,128->120,128', '--max-steps', '2', '--out', path.join(dir, 'out.png'), '--frames', frames]);
    expect(existsSync(path.join(dir, 'out.png'))).toBe(true);
    expect(readdirSync(frames)).toHaveLength(3);
    expect(stderr).toMatch(/max-steps after 2 steps/);
  });
});

// The StyleGAN2 ResNet discriminator's forward pass against the official Discriminator
// (tests/fixtures/discriminator, made by training/reference/discriminator_reference.py): every block's
// output and the logit within 1e-3 of the largest reference value; bad files refused by name.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatorFromBytes, initBackend, InvertInputError, invertRun, parseSafetensors, psnr, type InvertEvent, type InvertStageEvent } from '../../engine/src/index.js';
import { DiscriminatorLoadError, StyleGAN2Discriminator } from '../../engine/src/invert/discriminator.js';
import { serializeSafetensors } from '../../engine/src/io/safetensors.js';
import { tensorRelativeError } from './relative-error.js';

const dBytes = readFileSync(new URL('../fixtures/discriminator/discriminator.safetensors', import.meta.url));
const expected = parseSafetensors(readFileSync(new URL('../fixtures/discriminator/expected.safetensors', import.meta.url)));
const ref = (name: string) => expected.tensors.get(name)!;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
});

describe('StyleGAN2 discriminator', () => {
  it('matches the official D: every block output and the logit', () => {
    const d = StyleGAN2Discriminator.fromBytes(dBytes, 'fixture');
    try {
      expect(d.resolution).toBe(32);
      expect(d.hasLogit).toBe(true);
      tf.tidy(() => {
        const img = tf.tensor4d(ref('image').data, [1, 32, 32, 3]);
        const feats = d.features(img);
        expect(feats.map((f) => f.shape)).toEqual([ref('features.b32').shape, ref('features.b16').shape, ref('features.b8').shape]);
        expect(tensorRelativeError(feats[0], ref('features.b32'))).toBeLessThan(1e-3);
        expect(tensorRelativeError(feats[1], ref('features.b16'))).toBeLessThan(1e-3);
        expect(tensorRelativeError(feats[2], ref('features.b8'))).toBeLessThan(1e-3);
        expect(tensorRelativeError(d.logit(img), ref('logit'))).toBeLessThan(1e-3);
      });
    } finally {
      d.dispose();
    }
  });

  it('refuses corrupt files, other architectures and tensors that do not fit, by name', () => {
    expect(() => StyleGAN2Discriminator.fromBytes(dBytes.subarray(0, 1000), 'cut')).toThrow(/cut: corrupt safetensors file/);
    const file = parseSafetensors(dBytes);
    const rewrite = (edit: (t: Map<string, { shape: number[]; data: Float32Array; dtype: 'F16' | 'F32' }>) => void, meta = file.metadata) => {
      const tensors = new Map([...file.tensors].map(([k, v]) => [k, { ...v }]));
      edit(tensors);
      return serializeSafetensors(tensors, meta);
    };
    expect(() => StyleGAN2Discriminator.fromBytes(rewrite(() => {}, {}), 'm')).toThrow(DiscriminatorLoadError);
    const meta = JSON.parse(file.metadata['stabledrag.discriminator']);
    const skip = JSON.stringify({ ...meta, init_kwargs: { ...meta.init_kwargs, architecture: 'skip' } });
    expect(() => StyleGAN2Discriminator.fromBytes(rewrite(() => {}, { 'stabledrag.discriminator': skip }), 'm')).toThrow(/only StyleGAN2 ResNet/);
    expect(() => StyleGAN2Discriminator.fromBytes(rewrite((t) => t.delete('b16.skip.weight')), 'm')).toThrow(/m: missing tensor b16.skip.weight/);
    expect(() =>
      StyleGAN2Discriminator.fromBytes(rewrite((t) => t.set('b16.conv1.weight', { shape: [32, 32, 3, 1], data: new Float32Array(32 * 32 * 3), dtype: 'F32' })), 'm'),
    ).toThrow(/b16.conv1.weight is \[32,32,3,1\], expected \[32,16,3,3\]/);
    expect(() =>
      StyleGAN2Discriminator.fromBytes(
        rewrite((t) => {
          const e = t.get('b8.conv0.bias')!;
          t.set('b8.conv0.bias', { ...e, data: Float32Array.from(e.data, (v, i) => (i ? v : Infinity)) });
        }),
        'm',
      ),
    ).toThrow(/non-finite/);
  });
});

describe('the discriminator feature loss', () => {
  const modelFile = new URL('../fixtures/parity/model.safetensors', import.meta.url).pathname;
  const discriminatorFile = new URL('../fixtures/discriminator/discriminator.safetensors', import.meta.url).pathname;

  it('drives an inversion, which reports it; the loss without a discriminator is refused', async () => {
    const gen = generatorFromBytes(readFileSync(modelFile), 'parity');
    const d = StyleGAN2Discriminator.fromBytes(dBytes, 'fixture');
    try {
      const target = gen.render(gen.latentFromSeed(7, 1));
      const events: InvertEvent[] = [];
      for await (const ev of invertRun(gen, { target, discriminator: d, options: { wAvgSamples: 200, wSteps: 20, wPlusSteps: 10, wPlusLr: 0.02 } })) events.push(ev);
      const stages = events.filter((e): e is InvertStageEvent => e.type === 'stage');
      expect(stages.map((s) => [s.stage, s.loss])).toEqual([['w', 'pixel-multiscale+discriminator'], ['w+', 'pixel-multiscale+discriminator']]);
      const start = psnr(gen.render(gen.broadcast(gen.mapping(new Float32Array(gen.config.z_dim)))), target);
      expect(stages[1].psnr).toBeGreaterThan(start);
      expect(() => invertRun(gen, { target, options: { loss: 'pixel-multiscale+discriminator' } })).toThrow(InvertInputError);
    } finally {
      d.dispose();
      gen.dispose();
    }
  }, 60_000);

  it('stabledrag invert --loss auto uses discriminator.safetensors beside the model', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sd-invert-d-'));
    const modelDir = path.join(dir, 'model');
    mkdirSync(modelDir);
    copyFileSync(modelFile, path.join(modelDir, 'model.safetensors'));
    copyFileSync(discriminatorFile, path.join(modelDir, 'discriminator.safetensors'));
    const photo = path.join(dir, 'photo.png');
    await sharp(Buffer.alloc(32 * 32 * 3, 70), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(photo);
    const bin = new URL('../../engine/bin/stabledrag.mjs', import.meta.url).pathname;
    const { stderr } = await promisify(execFile)('node', [bin, 'invert', '--model', modelDir, '--image', photo, '--out', path.join(dir, 'out'), '--steps', '3', '--wplus', '0', '--samples', '20']);
    expect(stderr).toMatch(/^w: PSNR .* \(loss pixel-multiscale\+discriminator\)$/m);
  }, 60_000);
});

// The whole chain against the OFFICIAL implementations: a checkpoint pickle with NVIDIA's structure ->
// importCheckpoint -> loadGenerator -> render, compared with what the official code computes for the SAME
// weights. The StyleGAN2 and StyleGAN-Human pickles (training/import_fixtures/make_pickles.py) hold exactly the
// weights of the official parity fixtures (tests/fixtures/stylegan2, training/reference/stylegan2_reference.py);
// the TensorFlow-era config-f pickle's references come from the official legacy.py converter and generator
// (training/import_fixtures/tf_reference.py). Mapping, truncation, the drag block's features (whole and resized
// to the image) and the image must match within 1e-3; the imported config must drive the drag from block 6.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDragOptions, importCheckpoint, initBackend, loadGenerator, type ImageGenerator, type ImportOptions } from '../../engine/src/index.js';
import { checkMapping, checkSynthesis, synthesisReference, fixture, readReference } from './stylegan2-reference.js';

const pickles = new URL('../fixtures/pickles/', import.meta.url);
const out = mkdtempSync(path.join(tmpdir(), 'sd-import-parity-'));
const report: Record<string, Record<string, number>> = {};

async function importPickle(name: string, options: ImportOptions = {}): Promise<{ gen: ImageGenerator; modelFile: string }> {
  const result = await importCheckpoint(new URL(`${name}.pkl`, pickles).pathname, path.join(out, `${name}${options.padToSquare ? '-padded' : ''}`), options);
  return { gen: await loadGenerator(path.dirname(result.modelFile)), modelFile: result.modelFile };
}

describe('import -> engine parity with the official code', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
  });
  afterAll(() => {
    console.info(`max abs errors, import chain vs official:\n${JSON.stringify(report, null, 1)}`);
  });

  it.each([
    ['sg2-ffhq-256-map8', 'sg2-256-map8'],
    ['stylegan-human-512x256', 'human-512x256'],
  ])('%s.pkl renders as the official generator does for fixture %s', async (pickle, reference) => {
    const { expected, info } = fixture(reference);
    const { gen } = await importPickle(pickle);
    expect(gen.defaultFeatureLayer).toBe(info.feature_idx);
    // The drag loop's defaults on the imported model are DragGAN's: block 6's features, r1 = 3 and r2 = 12 px
    // at 512 scaled as round(r / 512 * h), stop when every handle is within max(2 / 512 * h, 2) px.
    const h = gen.height;
    expect(defaultDragOptions(gen)).toMatchObject({
      featureLayer: info.feature_idx,
      r1: Math.round((3 * h) / 512),
      r2: Math.round((12 * h) / 512),
      stopDistance: Math.max((2 * h) / 512, 2),
    });
    const ws = expected.get('ws')!.data;
    report[pickle] = {
      ...checkMapping(gen, expected, info),
      ...checkSynthesis(gen, ws, gen.defaultFeatureLayer, synthesisReference(expected)),
    };
    gen.dispose();

    if (expected.has('padded_points')) {
      // Imported with DragGAN's square view (--pad-to-square).
      const padded = await importPickle(pickle, { padToSquare: true });
      expect([padded.gen.width, padded.gen.height]).toEqual([gen.height, gen.height]);
      report[`${pickle} padded`] = checkSynthesis(padded.gen, ws, padded.gen.defaultFeatureLayer, synthesisReference(expected, 'padded_'));
      padded.gen.dispose();
    }
  });

  it('sg2-car-config-f-128-tf.pkl (TensorFlow era) renders as the official legacy converter\'s generator does', async () => {
    const name = 'sg2-car-config-f-128-tf';
    const { expected, info } = readReference(new URL(`${name}.reference.safetensors`, pickles));
    const { gen } = await importPickle(name);
    expect(gen.defaultFeatureLayer).toBe(info.feature_idx);
    report[name] = {
      ...checkMapping(gen, expected, info),
      ...checkSynthesis(gen, expected.get('ws')!.data, gen.defaultFeatureLayer, synthesisReference(expected)),
    };
    gen.dispose();
  });
});

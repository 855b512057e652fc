/**
 * The inversion benchmark (docs/benchmarks.md, "Inversion").
 *
 *   npm run bench:invert [-- options]
 *     --full                  the projector's schedule: 1000 W steps + 300 W+ steps (default: 100 + 50)
 *     --steps N --wplus N     W and W+ steps (override --full)
 *     --pti N                 pivotal-tuning steps after W+ (default 50; --full: 350, the PTI paper's); 0: none
 *     --pti-lr X              PTI learning rate (default 3e-4, the paper's)
 *     --seeds 9000000-9000003 held-out seeds of the model to render as targets (not used by bench/cases.json,
 *                             tests or docs)
 *     --samples N             z samples for w_avg (default 10000)
 *     --photos 'F[@l,t,w,h];..' real photos as an out-of-domain check, each decoded and fitted by
 *                             io/image-input.ts (optional crop rectangle, else the centre crop); see
 *                             docs/benchmarks.md for the Debian-packaged photos used there
 *     --only-photos           skip the held-out renders
 *     --images DIR            write one strip per seed: target | W | W+
 *     --json FILE             per-seed results and run metadata
 *     --loss auto|pixel|detector|discriminator  (auto: as the CLI: the model's discriminator where the
 *                             import kept one, else the detector feature term for a faces model)
 *     --model PATH --backend wasm|cpu|tensorflow
 *
 * Targets are renders of the bundled faces model at its default truncation, so a perfect inversion exists;
 * PSNR (dB), SSIM and DFD (detector feature distance, bench/perceptual.ts, lower is better) compare each
 * stage's final latent, rendered, with the target. Times are the stage's optimisation steps (frames off);
 * PTI's also include compacting the tuned weights, reported apart. PTI rows add the stored weights' size and
 * that size for a 512 px StyleGAN2 at real widths, computed at the same rank fraction per tensor.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  defaultModelPath,
  initBackend,
  invertRun,
  loadBaseModel,
  loadGenerator,
  parseSafetensors,
  type BackendName,
  type InvertStageEvent,
  type StyleGAN2Config,
} from '../engine/src/index.js';
import { tunedParamSpecs } from '../engine/src/generator/stylegan2/trainable.js';
import { imageGrid, writePng } from '../engine/src/io/png.js';
import { fitImage } from '../engine/src/io/image-input.js';
import type { RGBAImage } from '../engine/src/drag/types.js';
import { parseSeeds } from '../engine/cli/args.js';
import { parseCrop, perceptualForLoss } from '../engine/cli/invert.js';
import { DetectorFeatureDistance } from '../bench/perceptual.js';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean' },
    steps: { type: 'string' },
    wplus: { type: 'string' },
    pti: { type: 'string' },
    'pti-lr': { type: 'string' },
    seeds: { type: 'string' },
    samples: { type: 'string' },
    images: { type: 'string' },
    json: { type: 'string' },
    model: { type: 'string' },
    backend: { type: 'string' },
    loss: { type: 'string' },
    photos: { type: 'string' },
    'only-photos': { type: 'boolean' },
  },
});

const wSteps = Number(values.steps ?? (values.full ? 1000 : 100));
const wPlusSteps = Number(values.wplus ?? (values.full ? 300 : 50));
const ptiSteps = Number(values.pti ?? (values.full ? 350 : 50));
const ptiLr = Number(values['pti-lr'] ?? 3e-4);
const seeds = parseSeeds(values.seeds ?? '9000000-9000003');
const wAvgSamples = Number(values.samples ?? 10_000);

const backend = await initBackend({ backend: values.backend as BackendName | undefined });
const modelPath = values.model ?? defaultModelPath();
const gen = await loadGenerator(modelPath);
const ptiBase = ptiSteps > 0 ? await loadBaseModel(modelPath) : undefined;
const dfd = new DetectorFeatureDistance();
const { detector, discriminator } = await perceptualForLoss(gen, values.loss ?? 'auto', modelPath);
let lossUsed = '';
if (values.images) mkdirSync(values.images, { recursive: true });

interface Row {
  target: string;
  stage: string;
  steps: number;
  seconds: number;
  psnr: number;
  ssim: number;
  dfd: number;
  weightsBytes?: number;
  weightsPsnrVsFull?: number | null;
  weightsSeconds?: number;
  /** Kept rank / full rank of each low-rank tensor, by name (PTI). */
  rankFractions?: Record<string, number>;
}
const rows: Row[] = [];

async function invertOne(name: string, target: RGBAImage): Promise<void> {
  const strip = [target];
  for await (const ev of invertRun(gen, { target, detector, discriminator, ptiBase, options: { wSteps, wPlusSteps, wAvgSamples, imageEvery: 1_000_000, ptiSteps, ptiLr } })) {
    if (ev.type === 'stage') {
      const s = ev as InvertStageEvent;
      strip.push(s.image);
      lossUsed = s.loss;
      const row: Row = { target: name, stage: s.stage, steps: s.steps, seconds: s.seconds, psnr: s.psnr, ssim: s.ssim, dfd: dfd.distance(s.image, target) };
      if (s.ptiWeights) {
        Object.assign(row, { weightsBytes: s.weightsBytes, weightsPsnrVsFull: s.weightsPsnrVsFull, weightsSeconds: s.weightsSeconds, rankFractions: rankFractions(s.ptiWeights) });
      }
      rows.push(row);
      const weights = s.weightsBytes ? `, weights ${(s.weightsBytes / 1024).toFixed(0)} KiB (${s.weightsPsnrVsFull ?? 'inf'} dB vs full, compacted in ${s.weightsSeconds!.toFixed(1)} s)` : '';
      console.error(`${name} ${s.stage}: PSNR ${s.psnr.toFixed(2)} dB, SSIM ${s.ssim.toFixed(4)}, DFD ${row.dfd.toFixed(4)}, ${s.seconds.toFixed(1)} s${weights}`);
    } else if (ev.type === 'end' && ev.reason !== 'done') {
      throw new Error(`${name}: inversion ended with ${ev.reason}: ${ev.error?.message}`);
    }
  }
  if (values.images) writePng(path.join(values.images, `invert-${path.basename(name).replace(/\.[a-z]+$/i, '')}.png`), imageGrid(strip, strip.length));
}

/** For each tensor stored in low rank: k / min(rows, cols). */
function rankFractions(bytes: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of parseSafetensors(bytes).tensors) {
    if (!name.endsWith('.delta_a')) continue;
    const [rows, k] = t.shape;
    const cols = parseSafetensors(bytes).tensors.get(name.replace(/_a$/, '_b'))!.shape[1];
    out[name.slice(0, -'.delta_a'.length)] = k / Math.min(rows, cols);
  }
  return out;
}

/**
 * Bytes of PTI weights for a config: dense float16 for every tuned tensor, and low rank at the given rank
 * fraction for tensors the bundled model stored in low rank (matched by block-relative role, e.g. conv1.weight).
 */
function weightsBytesFor(config: StyleGAN2Config, fractions: Record<string, number>): { dense: number; lowRank: number } {
  const role = (name: string) => name.replace(/^synthesis\.b\d+\./, '');
  const byRole = new Map<string, number[]>();
  for (const [name, f] of Object.entries(fractions)) byRole.set(role(name), [...(byRole.get(role(name)) ?? []), f]);
  let dense = 0;
  let lowRank = 0;
  for (const { name, shape } of tunedParamSpecs(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    dense += 2 * count;
    const fs = byRole.get(role(name));
    const rows = shape[0];
    const cols = count / rows;
    const k = fs ? Math.max(1, Math.round((fs.reduce((a, b) => a + b, 0) / fs.length) * Math.min(rows, cols))) : 0;
    lowRank += fs && k * (rows + cols) < count ? 2 * k * (rows + cols) : 2 * count;
  }
  return { dense, lowRank };
}

const started = performance.now();
if (!values['only-photos']) for (const seed of seeds) await invertOne(`seed ${seed}`, gen.render(gen.latentFromSeed(seed)));
const photos = (values.photos ?? '').split(';').filter(Boolean);
for (const spec of photos) {
  const [file, crop] = spec.split('@');
  const fitted = await fitImage(readFileSync(file), { width: gen.width, height: gen.height, crop: crop ? parseCrop(crop) : undefined });
  await invertOne(path.basename(file), fitted.image);
}
const totalSeconds = (performance.now() - started) / 1000;

/** A 512 px StyleGAN2 at the official FFHQ-512 widths (channel_base 32768, channel_max 512, w_dim 512). */
const FFHQ512: StyleGAN2Config = {
  ...(gen.config as StyleGAN2Config),
  name: 'ffhq512-widths',
  w_dim: 512,
  z_dim: 512,
  img_resolution: 512,
  channels: { '4': 512, '8': 512, '16': 512, '32': 512, '64': 512, '128': 256, '256': 128, '512': 64 },
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const lines = [
  `model ${gen.config.name} (${gen.width}x${gen.height}), backend ${backend.name}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ` +
    `seeds ${values.seeds ?? '9000000-9000003'}, W ${wSteps} + W+ ${wPlusSteps} steps, w_avg from ${wAvgSamples} samples, loss ${lossUsed}`,
  '',
  '| stage | steps | PSNR dB (mean, min) | SSIM (mean) | DFD (mean) | s per stage (mean) | ms per step |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
const STAGE_NAMES: Record<string, string> = { w: 'W', 'w+': 'W+ (after W)', pti: 'PTI (after W+)' };
for (const stage of ['w', 'w+', 'pti']) {
  const r = rows.filter((x) => x.stage === stage && x.target.startsWith('seed '));
  if (!r.length) continue;
  const secs = mean(r.map((x) => x.seconds - (x.weightsSeconds ?? 0)));
  lines.push(
    `| ${STAGE_NAMES[stage]} | ${r[0].steps} | ${mean(r.map((x) => x.psnr)).toFixed(2)}, ${Math.min(...r.map((x) => x.psnr)).toFixed(2)} | ` +
      `${mean(r.map((x) => x.ssim)).toFixed(4)} | ${mean(r.map((x) => x.dfd)).toFixed(4)} | ${secs.toFixed(1)} | ${((secs / r[0].steps) * 1000).toFixed(0)} |`,
  );
}
const ptiRows = rows.filter((x) => x.stage === 'pti');
if (ptiRows.length) {
  const fractions: Record<string, number> = {};
  for (const r of ptiRows) for (const [k, f] of Object.entries(r.rankFractions ?? {})) fractions[k] = Math.max(fractions[k] ?? 0, f);
  const here = weightsBytesFor(gen.config as StyleGAN2Config, fractions);
  const real512 = weightsBytesFor(FFHQ512, fractions);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  lines.push(
    '',
    '| PTI weights | stored (mean, max) | PSNR of the stored delta vs full (min) | compaction s (mean) | dense float16 delta | 512 px StyleGAN2, dense float16 / low rank at these ranks |',
    '| --- | --- | --- | --- | --- | --- |',
    `| ${gen.config.name} | ${mib(mean(ptiRows.map((r) => r.weightsBytes!)))}, ${mib(Math.max(...ptiRows.map((r) => r.weightsBytes!)))} | ` +
      `${Math.min(...ptiRows.map((r) => r.weightsPsnrVsFull ?? Infinity)).toFixed(2)} dB | ${mean(ptiRows.map((r) => r.weightsSeconds!)).toFixed(1)} | ${mib(here.dense)} | ${mib(real512.dense)} / ${mib(real512.lowRank)} |`,
  );
}
const photoRows = rows.filter((x) => !x.target.startsWith('seed '));
if (photoRows.length) {
  lines.push('', '| photo | stage | PSNR dB | SSIM | DFD | s |', '| --- | --- | --- | --- | --- | --- |');
  for (const r of photoRows) lines.push(`| ${r.target} | ${STAGE_NAMES[r.stage].split(' ')[0]} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(4)} | ${r.dfd.toFixed(4)} | ${r.seconds.toFixed(1)} |`);
}
console.log(lines.join('\n'));
console.log(`\ntotal ${totalSeconds.toFixed(0)} s for ${seeds.length + photos.length} images (including the w_avg estimate per image)`);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ model: modelPath, backend: backend.name, loss: lossUsed, wSteps, wPlusSteps, ptiSteps, ptiLr, wAvgSamples, seeds, rows, totalSeconds }, null, 2)}\n`);
}
gen.dispose();
detector?.dispose();
discriminator?.dispose();

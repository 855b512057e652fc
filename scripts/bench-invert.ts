/**
 * The inversion benchmark (docs/benchmarks.md, "Inversion").
 *
 *   npm run bench:invert [-- options]
 *     --full                  the projector's schedule: 1000 W steps + 300 W+ steps (default: 100 + 50)
 *     --steps N --wplus N     W and W+ steps (override --full)
 *     --seeds 9000000-9000003 held-out seeds of the model to render as targets (not used by bench/cases.json,
 *                             tests or docs)
 *     --samples N             z samples for w_avg (default 10000)
 *     --photos 'F[@l,t,w,h];..' real photos as an out-of-domain check, each decoded and fitted by
 *                             io/image-input.ts (optional crop rectangle, else the centre crop); see
 *                             docs/benchmarks.md for the Debian-packaged photos used there
 *     --only-photos           skip the held-out renders
 *     --images DIR            write one strip per seed: target | W | W+
 *     --json FILE             per-seed results and run metadata
 *     --loss auto|pixel|detector  (auto: the detector feature term for a faces model, as the CLI)
 *     --model PATH --backend wasm|cpu|tensorflow
 *
 * Targets are renders of the bundled faces model at its default truncation, so a perfect inversion exists;
 * PSNR (dB), SSIM and DFD (detector feature distance, bench/perceptual.ts, lower is better) compare each
 * stage's final latent, rendered, with the target. Times are the stage's optimisation steps (frames off).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultModelPath, initBackend, invertRun, loadGenerator, type BackendName, type InvertStageEvent } from '../engine/src/index.js';
import { imageGrid, writePng } from '../engine/src/io/png.js';
import { fitImage } from '../engine/src/io/image-input.js';
import type { RGBAImage } from '../engine/src/drag/types.js';
import { parseSeeds } from '../engine/cli/args.js';
import { detectorForLoss, parseCrop } from '../engine/cli/invert.js';
import { DetectorFeatureDistance } from '../bench/perceptual.js';

const { values } = parseArgs({
  options: {
    full: { type: 'boolean' },
    steps: { type: 'string' },
    wplus: { type: 'string' },
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
const seeds = parseSeeds(values.seeds ?? '9000000-9000003');
const wAvgSamples = Number(values.samples ?? 10_000);

const backend = await initBackend({ backend: values.backend as BackendName | undefined });
const modelPath = values.model ?? defaultModelPath();
const gen = await loadGenerator(modelPath);
const dfd = new DetectorFeatureDistance();
const detector = await detectorForLoss(gen, values.loss ?? 'auto');
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
}
const rows: Row[] = [];

async function invertOne(name: string, target: RGBAImage): Promise<void> {
  const strip = [target];
  for await (const ev of invertRun(gen, { target, detector, options: { wSteps, wPlusSteps, wAvgSamples, imageEvery: 1_000_000 } })) {
    if (ev.type === 'stage') {
      const s = ev as InvertStageEvent;
      strip.push(s.image);
      lossUsed = s.loss;
      const row = { target: name, stage: s.stage, steps: s.steps, seconds: s.seconds, psnr: s.psnr, ssim: s.ssim, dfd: dfd.distance(s.image, target) };
      rows.push(row);
      console.error(`${name} ${s.stage}: PSNR ${s.psnr.toFixed(2)} dB, SSIM ${s.ssim.toFixed(4)}, DFD ${row.dfd.toFixed(4)}, ${s.seconds.toFixed(1)} s`);
    } else if (ev.type === 'end' && ev.reason !== 'done') {
      throw new Error(`${name}: inversion ended with ${ev.reason}: ${ev.error?.message}`);
    }
  }
  if (values.images) writePng(path.join(values.images, `invert-${path.basename(name).replace(/\.[a-z]+$/i, '')}.png`), imageGrid(strip, strip.length));
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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const lines = [
  `model ${gen.config.name} (${gen.width}x${gen.height}), backend ${backend.name}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ` +
    `seeds ${values.seeds ?? '9000000-9000003'}, W ${wSteps} + W+ ${wPlusSteps} steps, w_avg from ${wAvgSamples} samples, loss ${lossUsed}`,
  '',
  '| stage | steps | PSNR dB (mean, min) | SSIM (mean) | DFD (mean) | s per stage (mean) | ms per step |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
for (const stage of ['w', 'w+']) {
  const r = rows.filter((x) => x.stage === stage && x.target.startsWith('seed '));
  if (!r.length) continue;
  const secs = mean(r.map((x) => x.seconds));
  lines.push(
    `| ${stage === 'w' ? 'W' : 'W+ (after W)'} | ${r[0].steps} | ${mean(r.map((x) => x.psnr)).toFixed(2)}, ${Math.min(...r.map((x) => x.psnr)).toFixed(2)} | ` +
      `${mean(r.map((x) => x.ssim)).toFixed(4)} | ${mean(r.map((x) => x.dfd)).toFixed(4)} | ${secs.toFixed(1)} | ${((secs / r[0].steps) * 1000).toFixed(0)} |`,
  );
}
const photoRows = rows.filter((x) => !x.target.startsWith('seed '));
if (photoRows.length) {
  lines.push('', '| photo | stage | PSNR dB | SSIM | DFD | s |', '| --- | --- | --- | --- | --- | --- |');
  for (const r of photoRows) lines.push(`| ${r.target} | ${r.stage === 'w' ? 'W' : 'W+'} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(4)} | ${r.dfd.toFixed(4)} | ${r.seconds.toFixed(1)} |`);
}
console.log(lines.join('\n'));
console.log(`\ntotal ${totalSeconds.toFixed(0)} s for ${rows.length / (wSteps && wPlusSteps ? 2 : 1)} images (including the w_avg estimate per image)`);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ model: modelPath, backend: backend.name, loss: lossUsed, wSteps, wPlusSteps, wAvgSamples, seeds, rows, totalSeconds }, null, 2)}\n`);
}
gen.dispose();
detector?.dispose();

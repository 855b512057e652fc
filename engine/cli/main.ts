/**
 * stabledrag: the engine's command line.
 *   sample        --model DIR --seeds 0-15 --grid out.png [--psi 0.7] [--columns 4]
 *   drag          --model DIR (--seed N | --latent FILE) --points "x,y->x,y;..." --out out.png
 *                 [--mask mask.png] [--method stabledrag|draggan] [--max-steps N] [--lr X] [--space w|w+]
 *                 [--stall-steps N] [--frames DIR] [--latent-out FILE]
 *   random-model  --out DIR [--seed N]   (a random-weight stand-in with the bundled model's config)
 *   info          --model DIR
 *   import        FILE.pkl --out models/NAME [--name N] [--domain D] [--pad-to-square]   (NVIDIA StyleGAN2/3 pickle -> model.safetensors)
 *   invert        --model DIR --image FILE --out DIR [--steps N] [--wplus N] [--pti-steps N] [--crop l,t,w,h] [--frames DIR] [--loss L] [--lpips FILE]
 *   import-lpips  FILE [--vgg VGG_FILE] [--out models/lpips/lpips-vgg.safetensors]   (LPIPS-VGG16 torch files -> the inversion's LPIPS loss)
 *   import-diffusers DIR --out models/NAME [--name N] [--prompt P] [--settings JSON]   (a diffusers folder -> the engine's diffusion model folder)
 *   diffusion-drag --model DIR --image FILE --points "x,y->x,y;..." --out out.png [--prompt P] [--mask mask.png]
 *                 [--method stabledrag-diff|dragdiffusion] [--max-steps N] [--lr X] [--lora-steps N] [--ddim-steps N]
 *                 [--strength X] [--decode-every N] [--size N] [--frames DIR]
 *   dragbench-import DIR --out case.json   (a DragBench case folder -> the engine's case.json)
 *   dragbench-export case.json --out DIR   (case.json -> a DragBench case folder: original_image.png, user_drag.png, meta_data.pkl)
 * sample, drag and info take --pti-weights FILE (an invert run's pti-weights.safetensors) to render with a room's tuned weights.
 * Common: --backend wasm|cpu|tensorflow|webgpu
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  applyPtiWeights,
  defaultModelPath,
  defaultLpipsPath,
  importLpips,
  dragRun,
  loadBaseModel,
  EngineError,
  FACES128_CONFIG,
  importCheckpoint,
  initBackend,
  loadGenerator,
  randomModelBytes,
  renderImageAsync,
  type BackendName,
  type DragMethod,
} from '../src/index.js';
import { imageGrid, maskFromPng, readPng, writePng } from '../src/io/png.js';
import { parsePoints, parseSeeds } from './args.js';
import { importSummary } from './import-summary.js';
import { ImportProgressLine, ProgressLine } from './progress.js';
import { invertCommand, parseCrop } from './invert.js';
import { diffusionDragCommand, diffusionOptions, importDiffusersCommand } from './diffusion.js';
import { dragBenchExportCommand, dragBenchImportCommand } from './dragbench.js';

const USAGE = `usage:
  stabledrag sample --model DIR --seeds 0-15 --grid out.png [--psi 0.7] [--columns 4]
  stabledrag drag --model DIR (--seed N | --latent FILE) --points "x,y->x,y;..." --out out.png
                  [--mask mask.png] [--method stabledrag|draggan] [--max-steps N] [--lr X] [--space w|w+]
                  [--stall-steps N (default 80; 0: never end as stalled)] [--frames DIR] [--latent-out FILE]
  stabledrag random-model --out DIR [--seed N]
  stabledrag info --model DIR
  stabledrag import FILE.pkl --out models/NAME [--name N] [--domain D] [--pad-to-square (StyleGAN-Human: DragGAN's square view)]
  stabledrag invert --model DIR --image FILE.png|jpg|webp --out DIR [--steps N (W, default 1000)]
                    [--wplus N (W+, default 300)] [--crop left,top,width,height] [--frames DIR] [--samples N (for w_avg)]
                    [--loss auto|pixel|detector|discriminator|lpips (auto: + LPIPS-VGG16 where import-lpips wrote its
                     file, else + the model's own discriminator features where the import kept discriminator.safetensors,
                     else + landmark-detector features for face models)] [--lpips FILE (default models/lpips/lpips-vgg.safetensors)]
                    [--pti-steps N (pivotal tuning after W/W+, 0: none (default); the paper's recipe is 350)]
                    [--pti-lr X (default 3e-4)]  PTI writes pti-weights.safetensors
  stabledrag import-lpips FILE [--vgg VGG_FILE] [--out FILE (default models/lpips/lpips-vgg.safetensors)]
                    FILE: the lpips package's weights/v0.1/vgg.pth; VGG_FILE: torchvision's vgg16-397923af.pth
  stabledrag import-diffusers DIR --out models/NAME [--name N] [--prompt P]
                    [--settings JSON (room settings the model drags well with, e.g. '{"inversionStrength":0.4}')]
  stabledrag diffusion-drag --model DIR --image FILE.png|jpg|webp --points "x,y->x,y;..." --out out.png
                    [--prompt P] [--mask mask.png] [--method stabledrag-diff|dragdiffusion] [--max-steps N (80)]
                    [--lr X (0.01)] [--lora-steps N (80; 0: no LoRA)] [--ddim-steps N (50)] [--strength X (0.7)]
                    [--decode-every N (5)] [--size N (default: the model's)] [--frames DIR]
  stabledrag dragbench-import DIR --out case.json
  stabledrag dragbench-export case.json --out DIR
  sample, drag, info: [--pti-weights FILE] render with an invert run's tuned weights (for the same --model)
common options: --backend wasm|cpu|tensorflow|webgpu (default: tensorflow if installed, else webgpu on a
  hardware GPU adapter, else wasm)`;

const options = {
  model: { type: 'string' },
  seeds: { type: 'string' },
  seed: { type: 'string' },
  psi: { type: 'string' },
  grid: { type: 'string' },
  columns: { type: 'string' },
  latent: { type: 'string' },
  points: { type: 'string' },
  mask: { type: 'string' },
  method: { type: 'string' },
  'max-steps': { type: 'string' },
  'stall-steps': { type: 'string' },
  lr: { type: 'string' },
  space: { type: 'string' },
  out: { type: 'string' },
  frames: { type: 'string' },
  'latent-out': { type: 'string' },
  backend: { type: 'string' },
  name: { type: 'string' },
  domain: { type: 'string' },
  'pad-to-square': { type: 'boolean' },
  image: { type: 'string' },
  steps: { type: 'string' },
  wplus: { type: 'string' },
  crop: { type: 'string' },
  samples: { type: 'string' },
  loss: { type: 'string' },
  lpips: { type: 'string' },
  vgg: { type: 'string' },
  'pti-steps': { type: 'string' },
  'pti-lr': { type: 'string' },
  'pti-weights': { type: 'string' },
  prompt: { type: 'string' },
  settings: { type: 'string' },
  'lora-steps': { type: 'string' },
  'ddim-steps': { type: 'string' },
  strength: { type: 'string' },
  'decode-every': { type: 'string' },
  size: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${value}'`);
  return n;
}

function need(value: string | undefined, name: string): string {
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === 'random-model') {
    const dir = need(values.out, 'out');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'model.safetensors');
    writeFileSync(file, randomModelBytes(FACES128_CONFIG, { seed: num(values.seed, 'seed') ?? 0, dtype: 'F16' }));
    console.log(`wrote a random-weight ${FACES128_CONFIG.name} stand-in to ${file}`);
    return;
  }
  if (command === 'import') {
    const file = positionals[1];
    if (!file) throw new Error('import needs the checkpoint file: stabledrag import FILE.pkl --out models/NAME');
    const out = need(values.out, 'out');
    const progress = new ImportProgressLine();
    const result = await importCheckpoint(file, out, { name: values.name, domain: values.domain, padToSquare: values['pad-to-square'], onProgress: (p) => progress.update(p) });
    progress.finish();
    for (const line of importSummary(result, out)) console.log(line);
    return;
  }
  if (command === 'import-lpips') {
    const file = positionals[1];
    if (!file) throw new Error('import-lpips needs the lpips linear layers: stabledrag import-lpips vgg.pth --vgg vgg16-397923af.pth');
    const result = importLpips({ linPath: file, vggPath: values.vgg, outPath: values.out ?? defaultLpipsPath() });
    console.log(`wrote ${result.outPath}: ${result.tensors} tensors, ${(result.bytes / 2 ** 20).toFixed(1)} MiB (invert uses it with --loss auto or lpips)`);
    return;
  }
  if (command === 'dragbench-import') {
    dragBenchImportCommand(positionals[1], values.out);
    return;
  }
  if (command === 'dragbench-export') {
    dragBenchExportCommand(positionals[1], values.out);
    return;
  }
  await initBackend({ backend: values.backend as BackendName | undefined });
  if (command === 'import-diffusers') {
    importDiffusersCommand(positionals[1], values.out, values.name, values.prompt, values.settings);
    return;
  }
  if (command === 'diffusion-drag') {
    await diffusionDragCommand({
      model: need(values.model, 'model'),
      image: need(values.image, 'image'),
      points: need(values.points, 'points'),
      out: need(values.out, 'out'),
      prompt: values.prompt,
      mask: values.mask,
      frames: values.frames,
      size: num(values.size, 'size'),
      options: diffusionOptions(values as Record<string, string | undefined>, num),
    });
    return;
  }
  const modelPath = values.model ?? defaultModelPath();
  const gen = values['pti-weights']
    ? applyPtiWeights(await loadBaseModel(modelPath), readFileSync(values['pti-weights']))
    : await loadGenerator(modelPath);
  if (command === 'info') {
    const info = { ...gen.config, width: gen.width, height: gen.height, num_ws: gen.numWs, feature_layers: gen.featureLayers(), default_feature_layer: gen.defaultFeatureLayer };
    console.log(JSON.stringify(info, null, 2));
  } else if (command === 'sample') {
    const seeds = parseSeeds(need(values.seeds, 'seeds'));
    const psi = num(values.psi, 'psi');
    const images = [];
    for (const s of seeds) images.push(await renderImageAsync(gen, await gen.latentFromSeedAsync(s, psi)));
    const columns = num(values.columns, 'columns') ?? Math.ceil(Math.sqrt(seeds.length));
    const out = need(values.grid, 'grid');
    writePng(out, imageGrid(images, columns));
    console.log(`wrote ${seeds.length} samples (${gen.width}x${gen.height}) to ${out}`);
  } else if (command === 'drag') {
    let latent: Float32Array;
    if (values.latent) {
      const buf = readFileSync(values.latent);
      latent = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    } else {
      latent = await gen.latentFromSeedAsync(num(need(values.seed, 'seed'), 'seed')!, num(values.psi, 'psi'));
    }
    const points = parsePoints(need(values.points, 'points'));
    const mask = values.mask ? maskFromPng(readPng(values.mask), gen.width, gen.height) : undefined;
    const out = need(values.out, 'out');
    if (values.frames) mkdirSync(values.frames, { recursive: true });
    const maxSteps = num(values['max-steps'], 'max-steps');
    const stallSteps = num(values['stall-steps'], 'stall-steps');
    const run = dragRun(gen, {
      latent,
      points,
      mask,
      options: {
        method: (values.method ?? 'stabledrag') as DragMethod,
        ...(maxSteps !== undefined ? { maxSteps } : {}),
        ...(stallSteps !== undefined ? { stallSteps } : {}),
        ...(values.lr ? { lr: num(values.lr, 'lr') } : {}),
        ...(values.space ? { latentSpace: values.space as 'w' | 'w+' } : {}),
        imageEvery: values.frames ? 1 : 10_000,
      },
    });
    const progress = new ProgressLine(maxSteps ?? 200);
    let last;
    for await (const ev of run) {
      if (ev.type === 'end') {
        progress.finish(ev);
        if (ev.reason === 'error') throw new Error(ev.error?.message);
        break;
      }
      last = ev;
      progress.step(ev);
      if (values.frames && ev.image) writePng(path.join(values.frames, `step-${String(ev.step).padStart(4, '0')}.png`), ev.image);
    }
    if (last?.image) writePng(out, last.image);
    if (values['latent-out'] && last) writeFileSync(values['latent-out'], Buffer.from(last.latent.buffer));
    console.log(`wrote ${out}; final handles ${JSON.stringify(last?.handles)}`);
  } else if (command === 'invert') {
    const [steps, wplus, samples] = [num(values.steps, 'steps'), num(values.wplus, 'wplus'), num(values.samples, 'samples')];
    const [ptiSteps, ptiLr] = [num(values['pti-steps'], 'pti-steps'), num(values['pti-lr'], 'pti-lr')];
    if (values['pti-weights']) throw new Error('invert starts from the base model: drop --pti-weights');
    await invertCommand(gen, {
      image: need(values.image, 'image'),
      out: need(values.out, 'out'),
      crop: values.crop ? parseCrop(values.crop) : undefined,
      frames: values.frames,
      loss: values.loss ?? 'auto',
      lpipsPath: values.lpips ?? defaultLpipsPath(),
      modelPath,
      options: {
        ...(steps !== undefined ? { wSteps: steps } : {}),
        ...(wplus !== undefined ? { wPlusSteps: wplus } : {}),
        ...(samples !== undefined ? { wAvgSamples: samples } : {}),
        ...(ptiSteps !== undefined ? { ptiSteps } : {}),
        ...(ptiLr !== undefined ? { ptiLr } : {}),
      },
      ptiBase: ptiSteps ? await loadBaseModel(modelPath) : undefined,
    });
  } else {
    throw new Error(`unknown command '${command}'\n${USAGE}`);
  }
  gen.dispose();
}

main(process.argv.slice(2)).catch((err) => {
  const prefix = err instanceof EngineError ? `error (${err.code})` : 'error';
  console.error(`${prefix}: ${(err as Error).message}`);
  process.exitCode = 1;
});

/**
 * Speed of the diffusion drag with random weights (docs/benchmarks.md, "Diffusion"):
 *
 *   npm run bench:diffusion-speed -- (--config DIR | --sd15) [options]
 *     --config DIR      the sizes of a diffusers-layout folder (its config.json files; weights unread)
 *     --sd15            Stable Diffusion 1.5's sizes (860 M UNet, 512 px)
 *     --size PX         image side (default: the UNet's sample size x the VAE's factor)
 *     --backend wasm|webgpu|cpu|tensorflow  (webgpu on a software adapter: this process restarts itself with
 *                       the driver of scripts/software-vulkan.sh when no Vulkan driver is configured)
 *     --lora-steps N --lora-batch N --ddim-steps N --max-steps N   the edit timed (default: a room's defaults,
 *                       contract/diffusion-settings.ts, LoRA at the engine's batch)
 *     --no-warmup       time the first edit too (by default a short edit of the same shapes runs first:
 *                       the first use of each op packs its weights, which would dominate short edits)
 *     --unet-only       skip the edit; --no-unet skips the UNet timing; --repeats N (3) for it
 *
 * Prints what it measured as one JSON line (stdout), progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_LORA, initBackend, SD15_DDIM, softwareVulkanEnv, webgpuAdapter, type BackendName, type DiffusionDragModels } from '../engine/src/index.js';
import { DIFFUSION_SETTINGS_SCHEMA } from '../contract/diffusion-settings.js';
import { randomModels, SD15, specFromFolder, timeEdit, timeUNet } from '../bench/diffusion-speed.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    sd15: { type: 'boolean' },
    size: { type: 'string' },
    backend: { type: 'string' },
    'lora-steps': { type: 'string' },
    'lora-batch': { type: 'string' },
    'ddim-steps': { type: 'string' },
    'max-steps': { type: 'string' },
    'unet-only': { type: 'boolean' },
    'no-warmup': { type: 'boolean' },
    'no-unet': { type: 'boolean' },
    repeats: { type: 'string' },
  },
});

function int(flag: 'size' | 'lora-steps' | 'lora-batch' | 'ddim-steps' | 'max-steps' | 'repeats', fallback?: number): number | undefined {
  const v = values[flag];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number, got ${v}`);
  return n;
}

if (values.backend === 'webgpu' && !process.env.VK_ICD_FILENAMES) {
  const env = softwareVulkanEnv();
  if (env) {
    // The dynamic linker reads LD_LIBRARY_PATH only at start: rerun this process with the driver's.
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...env } });
    process.exit(child.status ?? 1);
  }
}

if (!values.config === !values.sd15) throw new Error('give exactly one of --config DIR and --sd15');
const spec = values.sd15 ? SD15 : specFromFolder(values.config!);
const backend = await initBackend({ backend: values.backend as BackendName | undefined });
// The folder's own tokenizer (its ids fit its text encoder); SD 1.5's 49408-token vocabulary takes the tiny fixture's ids.
const tokenizerDir = values.config && existsSync(path.join(values.config, 'tokenizer')) ? values.config : path.join(import.meta.dirname, '..', 'tests', 'fixtures', 'diffusion', 'tiny');
const out: Record<string, unknown> = {
  model: spec.name,
  backend: backend.name,
  ...(backend.name === 'webgpu' ? { adapter: webgpuAdapter() } : {}),
  host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavgStart: os.loadavg() },
};
const emit = () => console.log(JSON.stringify({ ...out, loadavgEnd: os.loadavg() }));

let models: DiffusionDragModels;
const t0 = performance.now();
try {
  models = randomModels(spec, tokenizerDir, SD15_DDIM);
  out.unetParameters = models.unet.parameterCount();
} catch (err) {
  out.error = `building the random-weight models: ${(err as Error).message}`;
  emit();
  process.exit(1);
}
out.buildSeconds = (performance.now() - t0) / 1000;
const side = int('size') ?? spec.unet.sampleSize * models.vae.downFactor;
out.side = side;
process.stderr.write(`${spec.name}: UNet ${((out.unetParameters as number) / 1e6).toFixed(1)} M, ${side} px, backend ${backend.name}, built in ${(out.buildSeconds as number).toFixed(1)} s\n`);

if (!values['unet-only']) {
  const room = DIFFUSION_SETTINGS_SCHEMA;
  const brief = {
    loraSteps: int('lora-steps', room.loraSteps.default)!,
    loraBatch: int('lora-batch', DEFAULT_LORA.batch)!,
    ddimSteps: int('ddim-steps', room.ddimSteps.default)!,
    maxSteps: int('max-steps', room.maxSteps.default)!,
  };
  out.brief = brief;
  if (!values['no-warmup']) {
    const warm = await timeEdit(models, side, { ...brief, loraSteps: Math.min(1, brief.loraSteps), ddimSteps: 10, maxSteps: 1 });
    out.warmup = { seconds: warm.seconds, ...(warm.error ? { error: warm.error } : {}) };
    process.stderr.write(`warm-up edit: ${warm.seconds.toFixed(1)} s\n`);
  }
  out.edit = await timeEdit(models, side, brief);
}
// After the edit, so the UNet's weights are packed and both timings are steady-state.
if (!values['no-unet']) {
  try {
    out.unet = await timeUNet(models, int('repeats', 3)!);
  } catch (err) {
    out.unet = { error: (err as Error).message };
  }
  process.stderr.write(`UNet: ${JSON.stringify(out.unet)}\n`);
}
emit();
models.unet.dispose();
models.vae.dispose();
models.textEncoder.dispose();

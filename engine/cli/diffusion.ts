/**
 * The diffusion commands of `stabledrag`:
 *   import-diffusers DIR --out models/NAME [--name N] [--prompt P] [--settings JSON]: check a diffusers folder
 *     and write the engine's diffusion model folder (diffusers' files plus diffusion-model.json, whose prompt,
 *     what the images show, and settings, the room settings the model drags well with, a room starts from).
 *   diffusion-drag --model DIR --image IMG --points "x,y->x,y;..." --out out.png: LoRA on the image, DDIM
 *     inversion, the drag (DragDiffusion or StableDrag-Diff) and the final denoising; --frames DIR writes each
 *     step's decoded image (every --decode-every steps).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { diffusionDragRun, importDiffusersFolder, loadDiffusionDragModels, type DiffusionDragMethod, type DiffusionDragOptionsInput } from '../src/index.js';
import { fitImage } from '../src/io/image-input.js';
import { maskFromPng, readPng, writePng } from '../src/io/png.js';
import { parsePoints } from './args.js';

export function importDiffusersCommand(dir: string | undefined, out: string | undefined, name?: string, prompt?: string, settingsJson?: string): void {
  if (!dir) throw new Error('import-diffusers needs the folder: stabledrag import-diffusers DIR --out models/NAME');
  if (!out) throw new Error('--out is required');
  let settings: unknown;
  if (settingsJson !== undefined) {
    try {
      settings = JSON.parse(settingsJson);
    } catch {
      throw new Error(`--settings must be a JSON object of room settings, e.g. '{"inversionStrength":0.4}', got ${settingsJson.slice(0, 80)}`);
    }
  }
  const result = importDiffusersFolder(dir, out, name, { prompt, settings });
  const m = result.marker;
  console.log(`wrote ${result.outDir}: diffusion model '${m.name}', ${m.imageSize} px images, UNet ${(m.unetParameters / 1e6).toFixed(2)} M parameters, ${result.files.length} files, ${(result.bytes / 1e6).toFixed(1)} MB`);
}

export interface DiffusionDragCommand {
  model: string;
  image: string;
  points: string;
  out: string;
  prompt?: string;
  mask?: string;
  frames?: string;
  /** Image side; default the model's (its UNet's sample_size times the VAE's factor). */
  size?: number;
  options: DiffusionDragOptionsInput;
}

export function diffusionOptions(values: Record<string, string | undefined>, num: (v: string | undefined, name: string) => number | undefined): DiffusionDragOptionsInput {
  const pick = (flag: string, key: keyof DiffusionDragOptionsInput) => {
    const v = num(values[flag], flag);
    return v === undefined ? {} : { [key]: v };
  };
  const loraSteps = num(values['lora-steps'], 'lora-steps');
  return {
    ...(values.method ? { method: values.method as DiffusionDragMethod } : {}),
    ...pick('max-steps', 'maxSteps'),
    ...pick('lr', 'lr'),
    ...pick('ddim-steps', 'ddimSteps'),
    ...pick('strength', 'inversionStrength'),
    ...pick('decode-every', 'decodeEvery'),
    ...(loraSteps !== undefined ? { lora: { steps: loraSteps } } : {}),
  };
}

export async function diffusionDragCommand(cmd: DiffusionDragCommand): Promise<void> {
  const models = loadDiffusionDragModels(cmd.model);
  try {
    const size = cmd.size ?? models.unet.config.sampleSize * models.vae.downFactor;
    const { image } = await fitImage(readFileSync(cmd.image), { width: size, height: size });
    const mask = cmd.mask ? maskFromPng(readPng(cmd.mask), size, size) : undefined;
    if (cmd.frames) mkdirSync(cmd.frames, { recursive: true });
    const started = performance.now();
    let finalHandles;
    for await (const ev of diffusionDragRun(models, { image, prompt: cmd.prompt ?? '', points: parsePoints(cmd.points), mask, options: cmd.options })) {
      if (ev.type === 'stage') {
        if (ev.stage !== 'lora' || ev.step === ev.steps || ev.step % 10 === 0) {
          process.stderr.write(`${ev.stage} ${ev.step}/${ev.steps}${ev.loss !== undefined ? ` loss ${ev.loss.toFixed(5)}` : ''}\n`);
        }
      } else if (ev.type === 'step') {
        finalHandles = ev.handles;
        process.stderr.write(`step ${ev.step} distances ${ev.distances.map((d) => d.toFixed(1)).join(', ')} confidence ${ev.confidences.map((c) => c.toFixed(2)).join(', ')}\n`);
        if (cmd.frames && ev.image) writePng(path.join(cmd.frames, `step-${String(ev.step).padStart(4, '0')}.png`), ev.image);
      } else {
        if (ev.reason === 'error') throw new Error(`diffusion drag failed: ${ev.error?.message}`);
        if (!ev.image) throw new Error(`diffusion drag ended (${ev.reason}) without an image`);
        writePng(cmd.out, ev.image);
        console.log(`wrote ${cmd.out} (${ev.reason} after ${ev.steps} steps, ${((performance.now() - started) / 1000).toFixed(1)} s); final handles ${JSON.stringify(finalHandles)}`);
      }
    }
  } finally {
    models.dispose();
  }
}

/**
 * `stabledrag invert`: fit a model's latent to a photo. Writes into --out:
 *   input.png             the image as the model sees it (decoded, oriented, cropped and resized)
 *   reconstruction.png    the final latent rendered; reconstruction-<stage>.png after each stage
 *   latent.safetensors    tensor 'latent' [num_ws, w_dim] F32 (metadata: model, loss, stages)
 *   latent.f32            the same values as raw little-endian float32, what `stabledrag drag --latent` reads
 *   metrics.json          per-stage PSNR, SSIM, seconds and the loss used
 *   pti-weights.safetensors  with --pti-steps: the tuned weights as a compact delta from the model
 *                         (`--pti-weights` of sample/drag/info renders with them)
 * and with --frames DIR, every step's frame as DIR/step-NNNN.png.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageGenerator } from '../src/generator/types.js';
import { detectorLossSuits, invertRun, type BaseModel, type InvertOptions, type InvertStageResult } from '../src/invert/index.js';
import { loadLandmarkDetector, type LandmarkDetector } from '../src/landmarks/detector.js';
import { fitImage, type CropRect } from '../src/io/image-input.js';
import { writePng } from '../src/io/png.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import { StyleGAN2Discriminator } from '../src/invert/discriminator.js';
import { LpipsVgg } from '../src/invert/lpips.js';
import { resolveModelFile } from '../src/model/load.js';
import { DISCRIMINATOR_FILE_NAME } from '../src/import/import-checkpoint.js';

export interface InvertCommand {
  image: string;
  out: string;
  crop?: CropRect;
  /** Directory for every step's frame. */
  frames?: string;
  options: Partial<InvertOptions>;
  /** 'pixel', 'detector', 'discriminator', 'lpips' or 'auto' (see perceptualForLoss). */
  loss: string;
  /** The LPIPS-VGG16 file: --lpips, else the default place (defaultLpipsPath), used when it exists. */
  lpipsPath: string;
  /** The model file or directory (its discriminator.safetensors, when there is one, sits beside it). */
  modelPath: string;
  /** The model's tensors and identity: with it (and options.ptiSteps > 0) PTI runs after W/W+. */
  ptiBase?: BaseModel;
}

export interface PerceptualNets {
  detector?: LandmarkDetector;
  discriminator?: StyleGAN2Discriminator;
  lpips?: LpipsVgg;
}

/**
 * The networks the chosen loss needs (the caller disposes them). 'auto' prefers LPIPS-VGG16 where the user
 * imported it (`lpipsPath` exists: a network trained to match human judgements of similarity on any
 * images; callers without one pass none), then the model's own discriminator where the import kept one (discriminator.safetensors beside
 * the model file), else the landmark detector for a faces model (detectorLossSuits), else pixels alone.
 */
export async function perceptualForLoss(gen: ImageGenerator, loss: string, modelPath: string, lpipsPath?: string): Promise<PerceptualNets> {
  if (!['auto', 'pixel', 'detector', 'discriminator', 'lpips'].includes(loss)) throw new Error(`bad --loss '${loss}': expected auto, pixel, detector, discriminator or lpips`);
  if (loss === 'pixel') return {};
  if (loss === 'auto' || loss === 'lpips') {
    if (lpipsPath && existsSync(lpipsPath)) return { lpips: LpipsVgg.fromBytes(readFileSync(lpipsPath), lpipsPath) };
    if (loss === 'lpips') throw new Error(`--loss lpips: there is no ${lpipsPath ?? 'LPIPS file'} (\`stabledrag import-lpips\` writes it; see docs/invert.md)`);
  }
  if (loss === 'auto' || loss === 'discriminator') {
    const file = path.join(path.dirname(await resolveModelFile(modelPath)), DISCRIMINATOR_FILE_NAME);
    if (existsSync(file)) return { discriminator: StyleGAN2Discriminator.fromBytes(readFileSync(file), file) };
    if (loss === 'discriminator') throw new Error(`--loss discriminator: there is no ${file} (\`stabledrag import\` keeps an official pickle's D there)`);
  }
  if (loss === 'detector' || detectorLossSuits(gen.config)) return { detector: await loadLandmarkDetector() };
  return {};
}

/** "left,top,width,height" -> a crop rectangle. */
export function parseCrop(text: string): CropRect {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || !parts.every((n) => Number.isInteger(n))) throw new Error(`bad --crop '${text}': expected left,top,width,height in pixels`);
  const [left, top, width, height] = parts;
  return { left, top, width, height };
}

export async function invertCommand(gen: ImageGenerator, cmd: InvertCommand): Promise<void> {
  const fitted = await fitImage(readFileSync(cmd.image), { width: gen.width, height: gen.height, crop: cmd.crop });
  mkdirSync(cmd.out, { recursive: true });
  writePng(path.join(cmd.out, 'input.png'), fitted.image);
  const framesDir = cmd.frames;
  if (framesDir) mkdirSync(framesDir, { recursive: true });
  const { detector, discriminator, lpips } = await perceptualForLoss(gen, cmd.loss, cmd.modelPath, cmd.lpipsPath);
  const started = performance.now();
  const stages: InvertStageResult[] = [];
  let latent: Float32Array | undefined;
  let ptiWeights: Uint8Array | undefined;
  const tty = process.stderr.isTTY;
  try {
    for await (const ev of invertRun(gen, { target: fitted.image, detector, discriminator, lpips, ptiBase: cmd.ptiBase, options: { ...cmd.options, imageEvery: cmd.frames ? 1 : 1_000_000 } })) {
      if (ev.type === 'step') {
        if (framesDir && ev.image) writePng(path.join(framesDir, `step-${String(ev.step).padStart(4, '0')}.png`), ev.image);
        const line = `${ev.stage.padEnd(2)} step ${String(ev.stageStep + 1).padStart(4)}/${ev.stageSteps} loss ${ev.loss.toFixed(5)} lr ${ev.lr.toFixed(4)}`;
        process.stderr.write(tty ? `\r${line}\x1b[K` : ev.stageStep % 50 === 0 || ev.stageStep === ev.stageSteps - 1 ? `${line}\n` : '');
      } else if (ev.type === 'stage') {
        const { type: _type, latent: _latent, image: _image, ptiWeights: _weights, ...result } = ev;
        stages.push(result);
        writePng(path.join(cmd.out, `reconstruction-${ev.stage === 'w+' ? 'wplus' : ev.stage}.png`), ev.image);
        writePng(path.join(cmd.out, 'reconstruction.png'), ev.image);
        process.stderr.write(`${tty ? '\n' : ''}${ev.stage}: PSNR ${ev.psnr.toFixed(2)} dB, SSIM ${ev.ssim.toFixed(4)}, ${ev.seconds.toFixed(1)} s (loss ${ev.loss})${ev.weightsBytes ? `, weights ${(ev.weightsBytes / 1024).toFixed(1)} KiB` : ''}\n`);
      } else {
        if (ev.reason === 'error') throw new Error(`inversion failed: ${ev.error?.message}`);
        latent = ev.latent;
        ptiWeights = ev.ptiWeights;
      }
    }
  } finally {
    detector?.dispose();
    discriminator?.dispose();
    lpips?.dispose();
  }
  const metrics = {
    model: gen.config.name,
    image: path.resolve(cmd.image),
    source: { format: fitted.info.format, width: fitted.info.width, height: fitted.info.height, crop: fitted.crop },
    size: { width: gen.width, height: gen.height },
    total_seconds: (performance.now() - started) / 1000,
    stages,
  };
  const meta = { model: gen.config.name, loss: stages[0]?.loss ?? '', stages: JSON.stringify(stages) };
  writeFileSync(
    path.join(cmd.out, 'latent.safetensors'),
    serializeSafetensors(new Map([['latent', { shape: [gen.numWs, gen.wDim], data: latent!, dtype: 'F32' as const }]]), meta),
  );
  writeFileSync(path.join(cmd.out, 'latent.f32'), Buffer.from(latent!.buffer, latent!.byteOffset, latent!.byteLength));
  if (ptiWeights) writeFileSync(path.join(cmd.out, 'pti-weights.safetensors'), ptiWeights);
  writeFileSync(path.join(cmd.out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  const last = stages.at(-1)!;
  console.log(`wrote ${cmd.out}: ${last.stage} PSNR ${last.psnr.toFixed(2)} dB, SSIM ${last.ssim.toFixed(4)}`);
}

/** What `stabledrag import` prints once a model is written: what the model is, its drag defaults, and how to open it. */
import path from 'node:path';
import { blockResolutions, numWs } from '../src/generator/stylegan2/config.js';
import type { ImportResult } from '../src/import/import-checkpoint.js';
import { dragPixelDefaults } from '../src/drag/options.js';
import { expectedParams, validateConfig, type ModelConfig } from '../src/model/config.js';
import { presentedSize } from '../src/model/image-size.js';
import { defaultModelPath } from '../src/model/load.js';

/** The official generators' fp16 rule: the top num_fp16_res block resolutions, never below 8. */
function fp16Blocks(config: ModelConfig): string {
  const n = config.num_fp16_res ?? 0;
  if (n === 0) return 'none';
  if (config.architecture === 'stylegan3') return `the last ${n} resolutions' layers ran in fp16 in the original; computed in fp32 here`;
  const first = Math.max(2 ** (Math.log2(config.img_resolution) + 1 - n), 8);
  const blocks = blockResolutions(config).filter((r) => r >= first);
  return `b${blocks[0]}..b${blocks.at(-1)} ran in fp16 in the original (num_fp16_res ${n}); computed in fp32 here`;
}

function dragFeatures(config: ModelConfig): string {
  if (config.architecture === 'stylegan3') return `output of synthesis layer L${config.drag_layer}`;
  const index = blockResolutions(config).indexOf(config.drag_block);
  return `output of block b${config.drag_block} (synthesis block ${index + 1})`;
}

/** The studio's models directory when STABLEDRAG_MODELS is not set: the repository's models/. */
function defaultModelsDir(): string {
  return path.dirname(path.dirname(defaultModelPath()));
}

export function importSummary(result: ImportResult, outDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const config = validateConfig(result.config);
  const size = presentedSize(config);
  const params = expectedParams(config).reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  const styles = config.architecture === 'stylegan3' ? config.num_layers + 2 : numWs(config);
  const { r1, r2, stopDistance } = dragPixelDefaults(size.height);
  const source = (config.source ?? {}) as { format?: string };
  const modelsDir = path.resolve(env.STABLEDRAG_MODELS || defaultModelsDir());
  const id = path.basename(path.resolve(outDir));
  const inModelsDir = path.dirname(path.resolve(outDir)) === modelsDir;
  const lines: Array<[string, string]> = [
    ['name', `${config.name}${config.domain ? ` (${config.domain})` : ''}`],
    ['architecture', `${config.architecture}${source.format ? ` (from a ${source.format})` : ''}`],
    ['resolution', `${size.width} x ${size.height} (W x H)${size.padded ? ', padded to a square' : ''}`],
    ['mapping', `${config.mapping_layers} layers, z_dim ${config.z_dim}, w_dim ${config.w_dim}, ${styles} style vectors (num_ws)`],
    ['parameters', `${params.toLocaleString('en-US')} (G_ema)`],
    ['fp16 layers', fp16Blocks(config)],
    ['conv_clamp', config.conv_clamp === null ? 'none' : String(config.conv_clamp)],
    ['discriminator', result.discriminatorFile ? `kept: ${result.discriminatorFile}` : `not kept: ${result.discriminatorSkipped}`],
    ['drag defaults', `features: ${dragFeatures(config)} resized to the image; r1 ${r1} px, r2 ${r2} px, stop within ${stopDistance} px`],
    ['truncation', `psi ${config.truncation_psi}`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return [
    `imported ${config.architecture} '${config.name}' (${size.width}x${size.height}, ${result.tensors} tensors) to ${result.modelFile}`,
    ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    inModelsDir
      ? `it is in the studio's models directory (${modelsDir}) as '${id}': the studio lists it when it next scans that directory`
      : `to open it in the studio: copy or move ${outDir} into the models directory (STABLEDRAG_MODELS, default models/: ${modelsDir}); it is listed under its directory name '${id}'`,
  ];
}

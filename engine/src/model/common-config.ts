/**
 * The config keys every architecture shares (docs/model-format.md), their validation, and the description of
 * the tensors a config implies. Architecture-specific keys are validated next to each generator
 * (generator/stylegan2/config.ts, generator/stylegan3/).
 */
import { ModelLoadError } from '../errors.js';

export type Architecture = 'stylegan2-ada' | 'stylegan3';
export const ARCHITECTURES: readonly Architecture[] = ['stylegan2-ada', 'stylegan3'];

export interface CommonConfig {
  architecture: Architecture;
  name: string;
  /** What the model draws ('faces', 'cats', 'people', ...), for the studio's model list. */
  domain?: string;
  z_dim: number;
  w_dim: number;
  /** Conditioning label size: always 0 (conditional models are refused). */
  c_dim?: number;
  mapping_layers: number;
  mapping_lr_multiplier: number;
  /** Synthesis resolution; for non-square models the image HEIGHT. */
  img_resolution: number;
  /** Image width when it differs from img_resolution (StyleGAN-Human: 256 with img_resolution 512). */
  img_width?: number;
  img_channels: number;
  truncation_psi: number;
  conv_clamp: number | null;
  /** How many top resolutions the original ran in fp16. Informational: the engine computes in fp32. */
  num_fp16_res?: number;
  /** Where the weights came from (file name, sha256, format); free-form. */
  source?: unknown;
  [extra: string]: unknown;
}

export const CONFIG_METADATA_KEY = 'stabledrag.config';

export function configError(field: string, why: string): never {
  throw new ModelLoadError(`model config: '${field}' ${why}`);
}

export function isPositiveInt(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

/** Checks the shared keys; the caller checks its architecture's own. */
export function validateCommonConfig(raw: unknown): CommonConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) configError('config', 'is missing or not an object');
  const c = raw as Partial<CommonConfig>;
  if (!ARCHITECTURES.includes(c.architecture as Architecture)) {
    configError('architecture', `must be one of ${ARCHITECTURES.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(c.architecture)}`);
  }
  if (typeof c.name !== 'string' || c.name.length === 0) configError('name', 'must be a non-empty string');
  if (c.domain !== undefined && typeof c.domain !== 'string') configError('domain', 'must be a string when given');
  if (c.c_dim !== undefined && c.c_dim !== 0) {
    if (isPositiveInt(c.c_dim)) throw new ModelLoadError(`model config: conditional models (c_dim = ${c.c_dim}) are not supported`);
    configError('c_dim', `must be 0, got ${JSON.stringify(c.c_dim)}`);
  }
  for (const f of ['z_dim', 'w_dim', 'mapping_layers', 'img_resolution', 'img_channels'] as const) {
    if (!isPositiveInt(c[f])) configError(f, `must be a positive integer, got ${JSON.stringify(c[f])}`);
  }
  if (c.img_width !== undefined && !isPositiveInt(c.img_width)) configError('img_width', `must be a positive integer, got ${JSON.stringify(c.img_width)}`);
  if (c.img_channels !== 3) configError('img_channels', 'must be 3');
  if (typeof c.mapping_lr_multiplier !== 'number' || !(c.mapping_lr_multiplier > 0)) configError('mapping_lr_multiplier', 'must be > 0');
  if (c.conv_clamp !== null && !(typeof c.conv_clamp === 'number' && c.conv_clamp > 0)) configError('conv_clamp', 'must be null or > 0');
  if (typeof c.truncation_psi !== 'number' || !Number.isFinite(c.truncation_psi)) configError('truncation_psi', 'must be a number');
  if (c.num_fp16_res !== undefined && !(Number.isInteger(c.num_fp16_res) && c.num_fp16_res >= 0)) {
    configError('num_fp16_res', `must be an integer >= 0, got ${JSON.stringify(c.num_fp16_res)}`);
  }
  return c as CommonConfig;
}

/**
 * What a tensor is, for random models: how to initialise it. 'buffer' tensors have contents the
 * architecture fixes (e.g. a filter derived from the config); they carry `value`.
 */
export type ParamKind = 'weight' | 'bias' | 'const' | 'noise_const' | 'noise_strength' | 'w_avg' | 'affine_bias' | 'buffer';

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
  /** The contents of a 'buffer' tensor. */
  value?: Float32Array;
}

/** The mapping network's tensors (fc0..fc{n-1} and w_avg), the same in every StyleGAN architecture. */
export function mappingParamSpecs(config: Pick<CommonConfig, 'z_dim' | 'w_dim' | 'mapping_layers'>): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const W = config.w_dim;
  for (let i = 0; i < config.mapping_layers; i++) {
    specs.push({ name: `mapping.fc${i}.weight`, shape: [W, i === 0 ? config.z_dim : W], kind: 'weight' });
    specs.push({ name: `mapping.fc${i}.bias`, shape: [W], kind: 'bias' });
  }
  specs.push({ name: 'mapping.w_avg', shape: [W], kind: 'w_avg' });
  return specs;
}

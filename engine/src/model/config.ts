/**
 * The generator config (docs/model-format.md) and the full list of tensors it implies. The list is what
 * the loader checks a file against and what random models are built from, so the two can never disagree.
 */
import { ModelLoadError } from '../errors.js';

export interface ModelConfig {
  architecture: 'stylegan2-ada';
  name: string;
  z_dim: number;
  w_dim: number;
  mapping_layers: number;
  mapping_lr_multiplier: number;
  img_resolution: number;
  img_channels: number;
  /** Channels per block resolution, keys '4', '8', ... img_resolution. */
  channels: Record<string, number>;
  conv_clamp: number | null;
  /** Resolution of the synthesis block whose features drive dragging by default. */
  drag_block: number;
  truncation_psi: number;
  [extra: string]: unknown;
}

export const CONFIG_METADATA_KEY = 'stabledrag.config';

export function blockResolutions(config: Pick<ModelConfig, 'img_resolution'>): number[] {
  const out: number[] = [];
  for (let r = 4; r <= config.img_resolution; r *= 2) out.push(r);
  return out;
}

export function numWs(config: Pick<ModelConfig, 'img_resolution'>): number {
  return 2 * Math.log2(config.img_resolution) - 2;
}

/** Index of the first style vector block `res` consumes (b4: 0, b8: 1, b16: 3, ...). */
export function firstWsIndex(res: number): number {
  return res === 4 ? 0 : 2 * Math.log2(res) - 5;
}

function positiveInt(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0;
}

/** Validates a parsed config and returns it typed; throws ModelLoadError naming the bad field. */
export function validateConfig(raw: unknown): ModelConfig {
  const c = raw as Partial<ModelConfig> | null;
  const bad = (field: string, why: string): never => {
    throw new ModelLoadError(`model config: '${field}' ${why}`);
  };
  if (!c || typeof c !== 'object') bad('config', 'is missing or not an object');
  if (c!.architecture !== 'stylegan2-ada') bad('architecture', `must be 'stylegan2-ada', got ${JSON.stringify(c!.architecture)}`);
  for (const f of ['z_dim', 'w_dim', 'mapping_layers', 'img_resolution', 'img_channels', 'drag_block'] as const) {
    if (!positiveInt(c![f])) bad(f, `must be a positive integer, got ${JSON.stringify(c![f])}`);
  }
  const res = c!.img_resolution!;
  if (res < 8 || (res & (res - 1)) !== 0) bad('img_resolution', `must be a power of two >= 8, got ${res}`);
  if (c!.img_channels !== 3) bad('img_channels', 'must be 3');
  if (typeof c!.mapping_lr_multiplier !== 'number' || !(c!.mapping_lr_multiplier > 0)) bad('mapping_lr_multiplier', 'must be > 0');
  if (c!.conv_clamp !== null && !(typeof c!.conv_clamp === 'number' && c!.conv_clamp > 0)) bad('conv_clamp', 'must be null or > 0');
  if (typeof c!.truncation_psi !== 'number' || !Number.isFinite(c!.truncation_psi)) bad('truncation_psi', 'must be a number');
  if (!c!.channels || typeof c!.channels !== 'object') bad('channels', 'must map block resolutions to channel counts');
  for (const r of blockResolutions({ img_resolution: res })) {
    if (!positiveInt(c!.channels![String(r)])) bad(`channels.${r}`, `must be a positive integer, got ${JSON.stringify(c!.channels![String(r)])}`);
  }
  if (!blockResolutions({ img_resolution: res }).includes(c!.drag_block!)) bad('drag_block', `must be a block resolution (4..${res})`);
  if (typeof c!.name !== 'string' || c!.name.length === 0) bad('name', 'must be a non-empty string');
  return c as ModelConfig;
}

export type ParamKind = 'weight' | 'bias' | 'const' | 'noise_const' | 'noise_strength' | 'w_avg' | 'affine_bias';

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
}

/** Every tensor a model with this config must contain, in a stable order. */
export function expectedParams(config: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const W = config.w_dim;
  for (let i = 0; i < config.mapping_layers; i++) {
    specs.push({ name: `mapping.fc${i}.weight`, shape: [W, i === 0 ? config.z_dim : W], kind: 'weight' });
    specs.push({ name: `mapping.fc${i}.bias`, shape: [W], kind: 'bias' });
  }
  specs.push({ name: 'mapping.w_avg', shape: [W], kind: 'w_avg' });
  for (const r of blockResolutions(config)) {
    const out = config.channels[String(r)];
    const b = `synthesis.b${r}`;
    if (r === 4) specs.push({ name: `${b}.const`, shape: [out, 4, 4], kind: 'const' });
    const layers: Array<[string, number]> = r === 4 ? [['conv1', out]] : [['conv0', config.channels[String(r / 2)]], ['conv1', out]];
    for (const [layer, inCh] of layers) {
      const p = `${b}.${layer}`;
      specs.push({ name: `${p}.affine.weight`, shape: [inCh, W], kind: 'weight' });
      specs.push({ name: `${p}.affine.bias`, shape: [inCh], kind: 'affine_bias' });
      specs.push({ name: `${p}.weight`, shape: [out, inCh, 3, 3], kind: 'weight' });
      specs.push({ name: `${p}.noise_const`, shape: [r, r], kind: 'noise_const' });
      specs.push({ name: `${p}.noise_strength`, shape: [], kind: 'noise_strength' });
      specs.push({ name: `${p}.bias`, shape: [out], kind: 'bias' });
    }
    specs.push({ name: `${b}.torgb.affine.weight`, shape: [out, W], kind: 'weight' });
    specs.push({ name: `${b}.torgb.affine.bias`, shape: [out], kind: 'affine_bias' });
    specs.push({ name: `${b}.torgb.weight`, shape: [config.img_channels, out, 1, 1], kind: 'weight' });
    specs.push({ name: `${b}.torgb.bias`, shape: [config.img_channels], kind: 'bias' });
  }
  return specs;
}

/** The planned config of the bundled model (models/faces128), used for random stand-ins and benchmarks. */
export const FACES128_CONFIG: ModelConfig = {
  architecture: 'stylegan2-ada',
  name: 'faces128',
  z_dim: 256,
  w_dim: 256,
  mapping_layers: 4,
  mapping_lr_multiplier: 0.01,
  img_resolution: 128,
  img_channels: 3,
  channels: { '4': 256, '8': 256, '16': 128, '32': 64, '64': 32, '128': 16 },
  conv_clamp: 256,
  drag_block: 32,
  truncation_psi: 0.7,
};

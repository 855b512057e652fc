/**
 * StyleGAN2 config keys (docs/model-format.md) and the full list of tensors a config implies. The list is
 * what the loader checks a file against and what random models are built from, so the two never disagree.
 */
import { configError, isPositiveInt, mappingParamSpecs, validateCommonConfig, type CommonConfig, type ParamSpec } from '../../model/common-config.js';

export interface StyleGAN2Config extends CommonConfig {
  architecture: 'stylegan2-ada';
  /** Channels per block resolution, keys '4', '8', ... img_resolution. */
  channels: Record<string, number>;
  /** Resolution (height) of the synthesis block whose features drive dragging by default. */
  drag_block: number;
  /**
   * Non-square models only: present the image padded left and right to a square (pad value 1, i.e. white)
   * and the features padded with 0, as DragGAN renders StyleGAN-Human. Default false: the native size.
   */
  pad_to_square?: boolean;
}

export function blockResolutions(config: Pick<CommonConfig, 'img_resolution'>): number[] {
  const out: number[] = [];
  for (let r = 4; r <= config.img_resolution; r *= 2) out.push(r);
  return out;
}

export function numWs(config: Pick<CommonConfig, 'img_resolution'>): number {
  return 2 * Math.log2(config.img_resolution) - 2;
}

/** Index of the first style vector block `res` consumes (b4: 0, b8: 1, b16: 3, ...). */
export function firstWsIndex(res: number): number {
  return res === 4 ? 0 : 2 * Math.log2(res) - 5;
}

/** Synthesis width of the model (the unpadded image width). */
export function synthesisWidth(config: Pick<CommonConfig, 'img_resolution' | 'img_width'>): number {
  return config.img_width ?? config.img_resolution;
}

/** Height and width of block `res`'s feature maps: every block keeps the image's aspect ratio. */
export function blockSize(config: Pick<CommonConfig, 'img_resolution' | 'img_width'>, res: number): { height: number; width: number } {
  return { height: res, width: (res * synthesisWidth(config)) / config.img_resolution };
}

export function validateStyleGAN2Config(raw: unknown): StyleGAN2Config {
  const c = validateCommonConfig(raw) as Partial<StyleGAN2Config> & CommonConfig;
  const res = c.img_resolution;
  if (res < 8 || (res & (res - 1)) !== 0) configError('img_resolution', `must be a power of two >= 8, got ${res}`);
  // StyleGAN-Human's generator is the only non-square StyleGAN2 layout: every block r x r/2, const 4 x 2.
  if (c.img_width !== undefined && c.img_width !== res && c.img_width !== res / 2) {
    configError('img_width', `must be img_resolution (${res}) or half of it (${res / 2}), got ${c.img_width}`);
  }
  if (c.pad_to_square !== undefined && typeof c.pad_to_square !== 'boolean') configError('pad_to_square', 'must be a boolean');
  if (!c.channels || typeof c.channels !== 'object') configError('channels', 'must map block resolutions to channel counts');
  for (const r of blockResolutions(c)) {
    if (!isPositiveInt(c.channels[String(r)])) configError(`channels.${r}`, `must be a positive integer, got ${JSON.stringify(c.channels[String(r)])}`);
  }
  if (!blockResolutions(c).includes(c.drag_block as number)) configError('drag_block', `must be a block resolution (4..${res}), got ${JSON.stringify(c.drag_block)}`);
  return c as StyleGAN2Config;
}

/** Every tensor a StyleGAN2 with this config must contain, in a stable order. */
export function expectedStyleGAN2Params(config: StyleGAN2Config): ParamSpec[] {
  const specs = mappingParamSpecs(config);
  const W = config.w_dim;
  for (const r of blockResolutions(config)) {
    const out = config.channels[String(r)];
    const { height, width } = blockSize(config, r);
    const b = `synthesis.b${r}`;
    if (r === 4) specs.push({ name: `${b}.const`, shape: [out, height, width], kind: 'const' });
    const layers: Array<[string, number]> = r === 4 ? [['conv1', out]] : [['conv0', config.channels[String(r / 2)]], ['conv1', out]];
    for (const [layer, inCh] of layers) {
      const p = `${b}.${layer}`;
      specs.push({ name: `${p}.affine.weight`, shape: [inCh, W], kind: 'weight' });
      specs.push({ name: `${p}.affine.bias`, shape: [inCh], kind: 'affine_bias' });
      specs.push({ name: `${p}.weight`, shape: [out, inCh, 3, 3], kind: 'weight' });
      specs.push({ name: `${p}.noise_const`, shape: [height, width], kind: 'noise_const' });
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

/**
 * StyleGAN3 config keys (docs/model-format.md), the layer geometry they imply (sampling rates, cutoffs, sizes,
 * channels, resampling factors and paddings, computed exactly as the official SynthesisNetwork computes them)
 * and the full list of tensors a config implies.
 */
import { configError, isPositiveInt, mappingParamSpecs, validateCommonConfig, type CommonConfig, type ParamSpec } from '../../model/common-config.js';
import { designLowpass, designRadialLowpass, initialFrequencies } from './filters.js';

/** StyleGAN3 keys, named and meaning as the official SynthesisNetwork's kwargs. */
export interface StyleGAN3Config extends CommonConfig {
  architecture: 'stylegan3';
  channel_base: number;
  channel_max: number;
  num_layers: number;
  num_critical: number;
  first_cutoff: number;
  first_stopband: number;
  last_stopband_rel: number;
  margin_size: number;
  output_scale: number;
  /** 3 for StyleGAN3-T, 1 for StyleGAN3-R. */
  conv_kernel: number;
  filter_size: number;
  lrelu_upsampling: number;
  use_radial_filters: boolean;
  /** Index into the synthesis layer outputs L0..L(num_layers) whose features drive dragging. */
  drag_layer: number;
}

/** One synthesis layer's fixed geometry. Sizes are square (the official network only builds square ones). */
export interface LayerGeometry {
  index: number;
  /** Official module name, e.g. 'L3_52_512'. */
  name: string;
  isToRGB: boolean;
  isCriticallySampled: boolean;
  inChannels: number;
  outChannels: number;
  inSize: number;
  outSize: number;
  inRate: number;
  outRate: number;
  inCutoff: number;
  outCutoff: number;
  inHalfWidth: number;
  outHalfWidth: number;
  convKernel: number;
  upFactor: number;
  downFactor: number;
  upTaps: number;
  downTaps: number;
  downRadial: boolean;
  /** [lo, hi] padding of the upsampling stage (same on both axes); negative values crop. */
  padding: [number, number];
  /** Margin around the image-aligned region: (outSize - outRate) / 2, 0 for the image-sized layers. */
  margin: number;
}

export interface InputGeometry {
  channels: number;
  size: number;
  rate: number;
  bandwidth: number;
}

export interface SynthesisGeometry {
  input: InputGeometry;
  layers: LayerGeometry[];
}

/** The official SynthesisNetwork's cutoff/stopband progression and the layers it builds. */
export function synthesisGeometry(c: StyleGAN3Config): SynthesisGeometry {
  const n = c.num_layers;
  const res = c.img_resolution;
  const lastCutoff = res / 2;
  const lastStopband = lastCutoff * c.last_stopband_rel;
  const cutoffs: number[] = [];
  const rates: number[] = [];
  const halfWidths: number[] = [];
  const sizes: number[] = [];
  const channels: number[] = [];
  for (let i = 0; i <= n; i++) {
    const e = Math.min(i / (n - c.num_critical), 1);
    const cutoff = c.first_cutoff * (lastCutoff / c.first_cutoff) ** e;
    const stopband = c.first_stopband * (lastStopband / c.first_stopband) ** e;
    const rate = 2 ** Math.ceil(Math.log2(Math.min(stopband * 2, res)));
    cutoffs.push(cutoff);
    rates.push(rate);
    halfWidths.push(Math.max(stopband, rate / 2) - cutoff);
    sizes.push(i >= n - 1 ? res : rate + c.margin_size * 2);
    channels.push(i === n ? c.img_channels : roundHalfEven(Math.min(c.channel_base / 2 / cutoff, c.channel_max)));
  }
  const layers: LayerGeometry[] = [];
  for (let i = 0; i <= n; i++) {
    const p = Math.max(i - 1, 0);
    const isToRGB = i === n;
    const isCriticallySampled = i >= n - c.num_critical;
    const tmpRate = Math.max(rates[p], rates[i]) * (isToRGB ? 1 : c.lrelu_upsampling);
    const upFactor = Math.round(tmpRate / rates[p]);
    const downFactor = Math.round(tmpRate / rates[i]);
    const upTaps = upFactor > 1 && !isToRGB ? c.filter_size * upFactor : 1;
    const downTaps = downFactor > 1 && !isToRGB ? c.filter_size * downFactor : 1;
    const convKernel = isToRGB ? 1 : c.conv_kernel;
    let padTotal = (sizes[i] - 1) * downFactor + 1;
    padTotal -= (sizes[p] + convKernel - 1) * upFactor;
    padTotal += upTaps + downTaps - 2;
    const padLo = Math.floor((padTotal + upFactor) / 2);
    layers.push({
      index: i,
      name: `L${i}_${sizes[i]}_${channels[i]}`,
      isToRGB,
      isCriticallySampled,
      inChannels: channels[p],
      outChannels: channels[i],
      inSize: sizes[p],
      outSize: sizes[i],
      inRate: rates[p],
      outRate: rates[i],
      inCutoff: cutoffs[p],
      outCutoff: cutoffs[i],
      inHalfWidth: halfWidths[p],
      outHalfWidth: halfWidths[i],
      convKernel,
      upFactor,
      downFactor,
      upTaps,
      downTaps,
      downRadial: c.use_radial_filters && !isCriticallySampled,
      padding: [padLo, padTotal - padLo],
      margin: Math.max(0, (sizes[i] - rates[i]) / 2),
    });
  }
  return { input: { channels: channels[0], size: sizes[0], rate: rates[0], bandwidth: cutoffs[0] }, layers };
}

/** numpy.rint: halves round to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The layer's upsampling filter (separable, 1-D), or undefined for a single tap (no filtering). */
export function upFilter(l: LayerGeometry): Float32Array | undefined {
  return l.upTaps > 1 ? designLowpass(l.upTaps, l.inCutoff, l.inHalfWidth * 2, l.inRate * l.upFactor) : undefined;
}

/** The layer's downsampling filter: 1-D separable, 2-D [taps x taps] radial, or undefined for a single tap. */
export function downFilter(l: LayerGeometry): Float32Array | undefined {
  if (l.downTaps <= 1) return undefined;
  const fs = l.outRate * l.downFactor;
  return l.downRadial ? designRadialLowpass(l.downTaps, l.outCutoff, l.outHalfWidth * 2, fs) : designLowpass(l.downTaps, l.outCutoff, l.outHalfWidth * 2, fs);
}

const NUMBER_KEYS = ['first_cutoff', 'first_stopband', 'last_stopband_rel', 'output_scale'] as const;
const INT_KEYS = ['channel_base', 'channel_max', 'num_layers', 'filter_size', 'lrelu_upsampling'] as const;

export function validateStyleGAN3Config(raw: unknown): StyleGAN3Config {
  const c = validateCommonConfig(raw) as Partial<StyleGAN3Config> & CommonConfig;
  const res = c.img_resolution;
  if (res < 16 || (res & (res - 1)) !== 0) configError('img_resolution', `must be a power of two >= 16, got ${res}`);
  if (c.img_width !== undefined && c.img_width !== res) configError('img_width', `must equal img_resolution (${res}): StyleGAN3 models are square`);
  for (const k of INT_KEYS) if (!isPositiveInt(c[k])) configError(k, `must be a positive integer, got ${JSON.stringify(c[k])}`);
  for (const k of NUMBER_KEYS) if (typeof c[k] !== 'number' || !(c[k]! > 0) || !Number.isFinite(c[k])) configError(k, `must be a number > 0, got ${JSON.stringify(c[k])}`);
  if (!(Number.isInteger(c.num_critical) && c.num_critical! >= 0 && c.num_critical! < c.num_layers!)) {
    configError('num_critical', `must be an integer in [0, num_layers), got ${JSON.stringify(c.num_critical)}`);
  }
  if (!(Number.isInteger(c.margin_size) && c.margin_size! >= 0)) configError('margin_size', `must be an integer >= 0, got ${JSON.stringify(c.margin_size)}`);
  if (c.conv_kernel !== 1 && c.conv_kernel !== 3) configError('conv_kernel', `must be 3 (StyleGAN3-T) or 1 (StyleGAN3-R), got ${JSON.stringify(c.conv_kernel)}`);
  if (typeof c.use_radial_filters !== 'boolean') configError('use_radial_filters', 'must be a boolean');
  if (!(Number.isInteger(c.drag_layer) && c.drag_layer! >= 0 && c.drag_layer! <= c.num_layers!)) {
    configError('drag_layer', `must be a layer index 0..${c.num_layers}, got ${JSON.stringify(c.drag_layer)}`);
  }
  return c as StyleGAN3Config;
}

/** Every tensor a StyleGAN3 with this config must contain, in a stable order (official state-dict names). */
export function expectedStyleGAN3Params(config: StyleGAN3Config): ParamSpec[] {
  const specs = mappingParamSpecs(config);
  const W = config.w_dim;
  const geometry = synthesisGeometry(config);
  const C = geometry.input.channels;
  const freqs = initialFrequencies(C, geometry.input.bandwidth);
  specs.push({ name: 'synthesis.input.weight', shape: [C, C], kind: 'weight' });
  specs.push({ name: 'synthesis.input.affine.weight', shape: [4, W], kind: 'weight' });
  specs.push({ name: 'synthesis.input.affine.bias', shape: [4], kind: 'affine_bias' });
  specs.push({ name: 'synthesis.input.transform', shape: [3, 3], kind: 'buffer', value: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) });
  specs.push({ name: 'synthesis.input.freqs', shape: [C, 2], kind: 'buffer', value: freqs.freqs });
  specs.push({ name: 'synthesis.input.phases', shape: [C], kind: 'buffer', value: freqs.phases });
  for (const l of geometry.layers) {
    const p = `synthesis.${l.name}`;
    specs.push({ name: `${p}.affine.weight`, shape: [l.inChannels, W], kind: 'weight' });
    specs.push({ name: `${p}.affine.bias`, shape: [l.inChannels], kind: 'affine_bias' });
    specs.push({ name: `${p}.weight`, shape: [l.outChannels, l.inChannels, l.convKernel, l.convKernel], kind: 'weight' });
    specs.push({ name: `${p}.bias`, shape: [l.outChannels], kind: 'bias' });
    specs.push({ name: `${p}.magnitude_ema`, shape: [], kind: 'buffer', value: Float32Array.of(1) });
    const up = upFilter(l);
    if (up) specs.push({ name: `${p}.up_filter`, shape: [l.upTaps], kind: 'buffer', value: up });
    const down = downFilter(l);
    if (down) specs.push({ name: `${p}.down_filter`, shape: l.downRadial ? [l.downTaps, l.downTaps] : [l.downTaps], kind: 'buffer', value: down });
  }
  return specs;
}

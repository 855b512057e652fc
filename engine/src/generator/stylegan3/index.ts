/**
 * StyleGAN3 (alias-free generator, -T and -R). This module is the architecture's entry point for the
 * engine's dispatch (createGenerator, validateConfig, expectedParams); until the StyleGAN3 synthesis network
 * lands here every entry point refuses the model with a clear message.
 */
import { ModelLoadError } from '../../errors.js';
import type { CommonConfig, ParamSpec } from '../../model/common-config.js';
import type { ImageGenerator, ParamSource } from '../types.js';

/** StyleGAN3 keys, named and meaning as the official SynthesisNetwork's kwargs (docs/model-format.md). */
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

const NOT_BUILT = 'StyleGAN3 is not built in this engine yet';

export function validateStyleGAN3Config(_raw: unknown): StyleGAN3Config {
  throw new ModelLoadError(NOT_BUILT);
}

export function expectedStyleGAN3Params(_config: StyleGAN3Config): ParamSpec[] {
  throw new ModelLoadError(NOT_BUILT);
}

export const StyleGAN3Generator: new (config: StyleGAN3Config, get: ParamSource) => ImageGenerator = class {
  constructor() {
    throw new ModelLoadError(NOT_BUILT);
  }
} as unknown as new (config: StyleGAN3Config, get: ParamSource) => ImageGenerator;

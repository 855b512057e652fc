/**
 * The model config (docs/model-format.md): a union discriminated on `architecture`, its validation and the
 * tensors it implies, dispatched to each architecture's own module.
 */
import { configError, validateCommonConfig, type ParamSpec } from './common-config.js';
import { expectedStyleGAN2Params, validateStyleGAN2Config, type StyleGAN2Config } from '../generator/stylegan2/config.js';
import { expectedStyleGAN3Params, validateStyleGAN3Config, type StyleGAN3Config } from '../generator/stylegan3/config.js';

export type ModelConfig = StyleGAN2Config | StyleGAN3Config;
export { CONFIG_METADATA_KEY, type ParamSpec, type ParamKind, type CommonConfig, type Architecture } from './common-config.js';

/** Validates a parsed config and returns it typed; throws ModelLoadError naming the bad field. */
export function validateConfig(raw: unknown): ModelConfig {
  const common = validateCommonConfig(raw);
  switch (common.architecture) {
    case 'stylegan2-ada':
      return validateStyleGAN2Config(raw);
    case 'stylegan3':
      return validateStyleGAN3Config(raw);
    default:
      return configError('architecture', `is not supported: ${JSON.stringify(common.architecture)}`);
  }
}

/** Every tensor a model with this config must contain, in a stable order. */
export function expectedParams(config: ModelConfig): ParamSpec[] {
  return config.architecture === 'stylegan3' ? expectedStyleGAN3Params(config) : expectedStyleGAN2Params(config);
}

/** The planned config of the bundled model (models/faces128), used for random stand-ins and benchmarks. */
export const FACES128_CONFIG: StyleGAN2Config = {
  architecture: 'stylegan2-ada',
  name: 'faces128',
  domain: 'faces',
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

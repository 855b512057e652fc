/** The AutoencoderKL configs the engine runs: SD's VAE (DownEncoderBlock2D / UpDecoderBlock2D, mid attention). */
import { ConfigReader } from './config-reader.js';

export interface VAEConfig {
  inChannels: number;
  outChannels: number;
  latentChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  normNumGroups: number;
  /** The factor pipelines multiply encoded latents by (0.18215 for SD 1.x); the models themselves do not apply it. */
  scalingFactor: number;
}

export function readVAEConfig(r: ConfigReader): VAEConfig {
  r.requireDefaults({
    act_fn: { value: 'silu', reason: 'another activation' },
    mid_block_add_attention: { value: true, reason: 'a VAE without mid-block attention' },
    use_quant_conv: { value: true, reason: 'a VAE without quant_conv' },
    use_post_quant_conv: { value: true, reason: 'a VAE without post_quant_conv' },
    latents_mean: { value: null, reason: 'latent normalisation statistics' },
    latents_std: { value: null, reason: 'latent normalisation statistics' },
    shift_factor: { value: null, reason: 'a latent shift factor' },
  });
  const blockOutChannels = r.intList('block_out_channels', 1, 6, 1, 8192);
  const blocks = blockOutChannels.length;
  r.stringList('down_block_types', blocks, blocks, ['DownEncoderBlock2D'], "not SD's VAE encoder block");
  r.stringList('up_block_types', blocks, blocks, ['UpDecoderBlock2D'], "not SD's VAE decoder block");
  const config: VAEConfig = {
    inChannels: r.int('in_channels', 1, 16, 3),
    outChannels: r.int('out_channels', 1, 16, 3),
    latentChannels: r.int('latent_channels', 1, 64, 4),
    blockOutChannels,
    layersPerBlock: r.int('layers_per_block', 1, 8, 1),
    normNumGroups: r.int('norm_num_groups', 1, 1024, 32),
    scalingFactor: r.number('scaling_factor', 1e-6, 1e6, 0.18215),
  };
  blockOutChannels.forEach((c, i) => {
    if (c % config.normNumGroups !== 0) throw r.error(`block_out_channels[${i}] = ${c} is not a multiple of norm_num_groups = ${config.normNumGroups}`);
  });
  return config;
}

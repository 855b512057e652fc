/**
 * The UNet2DConditionModel configs the engine runs: Stable Diffusion 1.x's layout (CrossAttnDownBlock2D /
 * DownBlock2D, a cross-attention mid block, CrossAttnUpBlock2D / UpBlock2D, conv projections in the
 * transformers). Everything else diffusers can express is refused by name.
 */
import { ConfigReader } from './config-reader.js';

export const DOWN_BLOCK_TYPES = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['CrossAttnUpBlock2D', 'UpBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  sampleSize: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  crossAttentionDim: number;
  /** Attention heads per down block (diffusers' misnamed attention_head_dim); up blocks use it reversed. */
  heads: number[];
  normNumGroups: number;
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
}

const SD1_DEFAULTS = {
  use_linear_projection: { value: false, reason: "SD 2.x's linear projections in the transformers" },
  num_attention_heads: { value: null, reason: 'diffusers itself refuses num_attention_heads for this model' },
  mid_block_type: { value: 'UNetMidBlock2DCrossAttn', reason: 'other mid blocks' },
  act_fn: { value: 'silu', reason: 'another activation' },
  center_input_sample: { value: false, reason: 'input centring' },
  downsample_padding: { value: 1, reason: 'another downsampler padding' },
  mid_block_scale_factor: { value: 1, reason: 'a mid-block output scale' },
  only_cross_attention: { value: false, reason: 'cross-attention-only transformers' },
  dual_cross_attention: { value: false, reason: 'dual cross-attention' },
  class_embed_type: { value: null, reason: 'class conditioning' },
  num_class_embeds: { value: null, reason: 'class conditioning' },
  addition_embed_type: { value: null, reason: "SDXL's added text/time embeddings" },
  encoder_hid_dim: { value: null, reason: 'an encoder hidden-state projection' },
  encoder_hid_dim_type: { value: null, reason: 'an encoder hidden-state projection' },
  resnet_time_scale_shift: { value: 'default', reason: 'scale-shift time conditioning' },
  resnet_skip_time_act: { value: false, reason: 'skipping the time activation' },
  resnet_out_scale_factor: { value: 1, reason: 'a resnet output scale' },
  time_embedding_type: { value: 'positional', reason: 'Fourier time embeddings' },
  time_embedding_dim: { value: null, reason: 'a custom time embedding width' },
  time_embedding_act_fn: { value: null, reason: 'a time embedding activation' },
  timestep_post_act: { value: null, reason: 'a post-activation on the time embedding' },
  time_cond_proj_dim: { value: null, reason: 'time-conditioning projections (LCM)' },
  transformer_layers_per_block: { value: 1, reason: "SDXL's several transformer layers per block" },
  conv_in_kernel: { value: 3, reason: 'another conv_in kernel' },
  conv_out_kernel: { value: 3, reason: 'another conv_out kernel' },
  attention_type: { value: 'default', reason: 'gated attention' },
  class_embeddings_concat: { value: false, reason: 'class conditioning' },
  mid_block_only_cross_attention: { value: null, reason: 'cross-attention-only mid block' },
  cross_attention_norm: { value: null, reason: 'a cross-attention norm' },
  addition_time_embed_dim: { value: null, reason: "SDXL's added time embeddings" },
  projection_class_embeddings_input_dim: { value: null, reason: 'class conditioning' },
};

export function readUNetConfig(r: ConfigReader): UNetConfig {
  r.requireDefaults(SD1_DEFAULTS);
  const normNumGroups = r.int('norm_num_groups', 1, 1024, 32);
  const blockOutChannels = r.intList('block_out_channels', 1, 6, 1, 8192);
  const blocks = blockOutChannels.length;
  const downBlockTypes = r.stringList('down_block_types', blocks, blocks, DOWN_BLOCK_TYPES, 'not an SD 1.x block');
  const upBlockTypes = r.stringList('up_block_types', blocks, blocks, UP_BLOCK_TYPES, 'not an SD 1.x block');
  const heads = r.intPerBlock('attention_head_dim', blocks, 1, 1024, 8);
  const config: UNetConfig = {
    inChannels: r.int('in_channels', 1, 64, 4),
    outChannels: r.int('out_channels', 1, 64, 4),
    sampleSize: r.int('sample_size', 1, 1024, 64),
    blockOutChannels,
    layersPerBlock: r.int('layers_per_block', 1, 8, 2),
    downBlockTypes,
    upBlockTypes,
    crossAttentionDim: r.int('cross_attention_dim', 1, 8192, 1280),
    heads,
    normNumGroups,
    normEps: r.number('norm_eps', 1e-12, 0.1, 1e-5),
    flipSinToCos: r.bool('flip_sin_to_cos', true),
    freqShift: r.number('freq_shift', 0, 1, 0),
  };
  if (blockOutChannels[0] < 2 || blockOutChannels[0] % 2 !== 0) {
    throw r.error(`block_out_channels[0] = ${blockOutChannels[0]} must be even (it is the sinusoidal time embedding's width)`);
  }
  blockOutChannels.forEach((c, i) => {
    if (c % normNumGroups !== 0) throw r.error(`block_out_channels[${i}] = ${c} is not a multiple of norm_num_groups = ${normNumGroups}`);
    const attends = downBlockTypes[i] === 'CrossAttnDownBlock2D' || upBlockTypes[blocks - 1 - i] === 'CrossAttnUpBlock2D' || i === blocks - 1;
    if (attends && c % heads[i] !== 0) throw r.error(`block_out_channels[${i}] = ${c} is not a multiple of its ${heads[i]} attention heads`);
  });
  return config;
}

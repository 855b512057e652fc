/**
 * UNet2DConditionModel (Stable Diffusion 1.x layout) in TF.js: predicts the noise of a latent at a timestep
 * given the text encoder's hidden states and, on request, returns each up block's output (the features
 * DragDiffusion's motion supervision and point tracking read). Latents are NHWC here; channel counts come
 * from config.json and every weight's shape is checked against them at load.
 */
import * as tf from '@tensorflow/tfjs';
import { LatentError } from '../errors.js';
import { Conv2d, Downsample2D, GroupNorm, Linear, ResnetBlock2D, Upsample2D, silu } from './layers.js';
import { Transformer2D } from './transformer.js';
import type { UNetConfig } from './unet-config.js';
import type { Weights } from './weights.js';

interface Stage {
  resnets: ResnetBlock2D[];
  attentions: Transformer2D[];
}

interface DownStage extends Stage {
  down?: Downsample2D;
}

interface UpStage extends Stage {
  up?: Upsample2D;
}

export interface UNetOutput {
  /** The predicted noise, [B, H, W, out_channels]. */
  noise: tf.Tensor4D;
  /** Each up block's output (after its upsampler), when asked for: [B, h, w, C] per block. */
  upFeatures?: tf.Tensor4D[];
}

export class UNet {
  private readonly timeLinear1: Linear;
  private readonly timeLinear2: Linear;
  private readonly convIn: Conv2d;
  private readonly downs: DownStage[] = [];
  private readonly mid: Stage;
  private readonly ups: UpStage[] = [];
  private readonly normOut: GroupNorm;
  private readonly convOut: Conv2d;

  constructor(
    readonly config: UNetConfig,
    private readonly weights: Weights,
  ) {
    const c = config;
    const ws = weights;
    const boc = c.blockOutChannels;
    const ch0 = boc[0];
    const temb = 4 * ch0;
    const resnet = (name: string, i: number, o: number) => new ResnetBlock2D(ws, name, i, o, c.normNumGroups, c.normEps, temb);
    const transformer = (name: string, ch: number, heads: number) => new Transformer2D(ws, name, ch, c.crossAttentionDim, heads, c.normNumGroups);
    this.timeLinear1 = new Linear(ws, 'time_embedding.linear_1', ch0, temb);
    this.timeLinear2 = new Linear(ws, 'time_embedding.linear_2', temb, temb);
    this.convIn = new Conv2d(ws, 'conv_in', c.inChannels, ch0, 3);

    const last = boc.length - 1;
    let out = ch0;
    c.downBlockTypes.forEach((type, i) => {
      const inCh = out;
      out = boc[i];
      const stage: DownStage = { resnets: [], attentions: [] };
      for (let j = 0; j < c.layersPerBlock; j++) {
        stage.resnets.push(resnet(`down_blocks.${i}.resnets.${j}`, j === 0 ? inCh : out, out));
        if (type === 'CrossAttnDownBlock2D') stage.attentions.push(transformer(`down_blocks.${i}.attentions.${j}`, out, c.heads[i]));
      }
      if (i !== last) stage.down = new Downsample2D(ws, `down_blocks.${i}.downsamplers.0`, out, 1);
      this.downs.push(stage);
    });

    const top = boc[last];
    this.mid = {
      resnets: [resnet('mid_block.resnets.0', top, top), resnet('mid_block.resnets.1', top, top)],
      attentions: [transformer('mid_block.attentions.0', top, c.heads[last])],
    };

    const rev = [...boc].reverse();
    const revHeads = [...c.heads].reverse();
    out = rev[0];
    c.upBlockTypes.forEach((type, i) => {
      const prev = out;
      out = rev[i];
      const inCh = rev[Math.min(i + 1, last)];
      const stage: UpStage = { resnets: [], attentions: [] };
      const layers = c.layersPerBlock + 1;
      for (let j = 0; j < layers; j++) {
        const skip = j === layers - 1 ? inCh : out;
        stage.resnets.push(resnet(`up_blocks.${i}.resnets.${j}`, (j === 0 ? prev : out) + skip, out));
        if (type === 'CrossAttnUpBlock2D') stage.attentions.push(transformer(`up_blocks.${i}.attentions.${j}`, out, revHeads[i]));
      }
      if (i !== last) stage.up = new Upsample2D(ws, `up_blocks.${i}.upsamplers.0`, out);
      this.ups.push(stage);
    });

    this.normOut = new GroupNorm(ws, 'conv_norm_out', c.normNumGroups, ch0, c.normEps);
    this.convOut = new Conv2d(ws, 'conv_out', ch0, c.outChannels, 3);
  }

  /** Sinusoidal embedding of the timesteps then the two-layer MLP: [B] -> [B, 4 * block_out_channels[0]]. */
  timeEmbedding(timesteps: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const half = this.config.blockOutChannels[0] / 2;
      const freqs = tf.exp(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(10000) / (half - this.config.freqShift)));
      const args = tf.mul(tf.reshape(tf.cast(timesteps, 'float32'), [-1, 1]), tf.reshape(freqs, [1, half]));
      const sin = tf.sin(args);
      const cos = tf.cos(args);
      const emb = (this.config.flipSinToCos ? tf.concat([cos, sin], 1) : tf.concat([sin, cos], 1)) as tf.Tensor2D;
      return this.timeLinear2.apply(silu(this.timeLinear1.apply(emb)));
    });
  }

  /**
   * sample: [B, H, W, in_channels] latents (H and W multiples of 2^(blocks-1)); timesteps: [B];
   * context: [B, tokens, cross_attention_dim]. The caller owns the returned tensors.
   */
  apply(sample: tf.Tensor4D, timesteps: tf.Tensor1D, context: tf.Tensor3D, withFeatures = false): UNetOutput {
    const problem = this.checkInputs(sample, timesteps, context);
    if (problem) throw new LatentError(problem);
    const upFeatures: tf.Tensor4D[] = [];
    const noise = tf.tidy(() => {
      const temb = this.timeEmbedding(timesteps);
      let h = this.convIn.apply(sample);
      const skips: tf.Tensor4D[] = [h];
      for (const stage of this.downs) {
        stage.resnets.forEach((r, j) => {
          h = r.apply(h, temb);
          if (stage.attentions.length) h = stage.attentions[j].apply(h, context);
          skips.push(h);
        });
        if (stage.down) {
          h = stage.down.apply(h);
          skips.push(h);
        }
      }
      h = this.mid.resnets[0].apply(h, temb);
      h = this.mid.attentions[0].apply(h, context);
      h = this.mid.resnets[1].apply(h, temb);
      for (const stage of this.ups) {
        stage.resnets.forEach((r, j) => {
          h = r.apply(tf.concat([h, skips.pop()!], 3), temb);
          if (stage.attentions.length) h = stage.attentions[j].apply(h, context);
        });
        if (stage.up) h = stage.up.apply(h);
        if (withFeatures) upFeatures.push(tf.keep(h));
      }
      return this.convOut.apply(silu(this.normOut.apply(h)));
    });
    return withFeatures ? { noise, upFeatures } : { noise };
  }

  /** Every Transformer2D in the order a forward pass runs them (down blocks, mid, up blocks). */
  transformers(): Transformer2D[] {
    return [...this.downs.flatMap((s) => s.attentions), ...this.mid.attentions, ...this.ups.flatMap((s) => s.attentions)];
  }

  /** Why these inputs cannot go through this UNet, or null. */
  checkInputs(sample: tf.Tensor4D, timesteps: tf.Tensor1D, context: tf.Tensor3D): string | null {
    const c = this.config;
    const [b, h, w, ch] = sample.shape;
    const factor = 2 ** (c.blockOutChannels.length - 1);
    if (ch !== c.inChannels) return `the latent has ${ch} channels, the UNet takes ${c.inChannels}`;
    if (h % factor !== 0 || w % factor !== 0) return `the latent is ${w}x${h}; this UNet needs sides that are multiples of ${factor}`;
    if (timesteps.shape[0] !== b) return `${timesteps.shape[0]} timesteps for a batch of ${b}`;
    if (context.shape[0] !== b || context.shape[2] !== c.crossAttentionDim) {
      return `the text context is [${context.shape}], the UNet needs [${b}, tokens, ${c.crossAttentionDim}]`;
    }
    return null;
  }

  parameterCount(): number {
    return this.weights.parameterCount();
  }

  dispose(): void {
    this.weights.dispose();
  }
}

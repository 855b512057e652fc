/**
 * AutoencoderKL in TF.js: the encoder to the latent distribution's mean (what DDIM inversion starts from;
 * sampling would add noise an edit must not have) and the decoder. Images are NHWC in [-1, 1]; latents are
 * unscaled (multiply by config.scalingFactor before the UNet, as diffusers' pipelines do).
 */
import * as tf from '@tensorflow/tfjs';
import { LatentError } from '../errors.js';
import { Conv2d, Downsample2D, GroupNorm, Linear, ResnetBlock2D, Upsample2D, attention, silu } from './layers.js';
import type { VAEConfig } from './vae-config.js';
import type { Weights } from './weights.js';

/** diffusers builds every VAE norm with this epsilon. */
const EPS = 1e-6;

/** The single-head self-attention of the VAE's mid block (GroupNorm, q/k/v with bias, residual). */
class MidAttention {
  readonly norm: GroupNorm;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  constructor(ws: Weights, name: string, ch: number, groups: number) {
    this.norm = new GroupNorm(ws, `${name}.group_norm`, groups, ch, EPS);
    this.q = new Linear(ws, `${name}.to_q`, ch, ch);
    this.k = new Linear(ws, `${name}.to_k`, ch, ch);
    this.v = new Linear(ws, `${name}.to_v`, ch, ch);
    this.out = new Linear(ws, `${name}.to_out.0`, ch, ch);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const t = tf.reshape(this.norm.apply(x), [b, h * w, c]) as tf.Tensor3D;
      const o = this.out.apply(attention(this.q.apply(t), this.k.apply(t), this.v.apply(t), 1));
      return tf.add(tf.reshape(o, [b, h, w, c]), x);
    });
  }
}

class MidBlock {
  readonly r0: ResnetBlock2D;
  readonly attn: MidAttention;
  readonly r1: ResnetBlock2D;
  constructor(ws: Weights, name: string, ch: number, groups: number) {
    this.r0 = new ResnetBlock2D(ws, `${name}.resnets.0`, ch, ch, groups, EPS, null);
    this.attn = new MidAttention(ws, `${name}.attentions.0`, ch, groups);
    this.r1 = new ResnetBlock2D(ws, `${name}.resnets.1`, ch, ch, groups, EPS, null);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.r1.apply(this.attn.apply(this.r0.apply(x))));
  }
}

export class VAE {
  private readonly encIn: Conv2d;
  private readonly encBlocks: Array<{ resnets: ResnetBlock2D[]; down?: Downsample2D }> = [];
  private readonly encMid: MidBlock;
  private readonly encNorm: GroupNorm;
  private readonly encOut: Conv2d;
  private readonly quant: Conv2d;
  private readonly postQuant: Conv2d;
  private readonly decIn: Conv2d;
  private readonly decMid: MidBlock;
  private readonly decBlocks: Array<{ resnets: ResnetBlock2D[]; up?: Upsample2D }> = [];
  private readonly decNorm: GroupNorm;
  private readonly decOut: Conv2d;

  constructor(
    readonly config: VAEConfig,
    private readonly weights: Weights,
  ) {
    const c = config;
    const ws = weights;
    const g = c.normNumGroups;
    const boc = c.blockOutChannels;
    const last = boc.length - 1;
    const L = c.latentChannels;
    const resnet = (name: string, i: number, o: number) => new ResnetBlock2D(ws, name, i, o, g, EPS, null);

    this.encIn = new Conv2d(ws, 'encoder.conv_in', c.inChannels, boc[0], 3);
    let out = boc[0];
    boc.forEach((ch, i) => {
      const inCh = out;
      out = ch;
      const resnets = Array.from({ length: c.layersPerBlock }, (_, j) => resnet(`encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? inCh : out, out));
      const down = i !== last ? new Downsample2D(ws, `encoder.down_blocks.${i}.downsamplers.0`, out, 'right-bottom') : undefined;
      this.encBlocks.push({ resnets, down });
    });
    this.encMid = new MidBlock(ws, 'encoder.mid_block', boc[last], g);
    this.encNorm = new GroupNorm(ws, 'encoder.conv_norm_out', g, boc[last], EPS);
    this.encOut = new Conv2d(ws, 'encoder.conv_out', boc[last], 2 * L, 3);
    this.quant = new Conv2d(ws, 'quant_conv', 2 * L, 2 * L, 1);

    this.postQuant = new Conv2d(ws, 'post_quant_conv', L, L, 1);
    this.decIn = new Conv2d(ws, 'decoder.conv_in', L, boc[last], 3);
    this.decMid = new MidBlock(ws, 'decoder.mid_block', boc[last], g);
    const rev = [...boc].reverse();
    out = rev[0];
    rev.forEach((ch, i) => {
      const prev = out;
      out = ch;
      const resnets = Array.from({ length: c.layersPerBlock + 1 }, (_, j) => resnet(`decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? prev : out, out));
      const up = i !== last ? new Upsample2D(ws, `decoder.up_blocks.${i}.upsamplers.0`, out) : undefined;
      this.decBlocks.push({ resnets, up });
    });
    this.decNorm = new GroupNorm(ws, 'decoder.conv_norm_out', g, boc[0], EPS);
    this.decOut = new Conv2d(ws, 'decoder.conv_out', boc[0], c.outChannels, 3);
  }

  /** Pixels per latent cell along each side. */
  get downFactor(): number {
    return 2 ** (this.config.blockOutChannels.length - 1);
  }

  /** image: [B, H, W, in_channels] in [-1, 1] -> the latent distribution's mean [B, H/f, W/f, latent_channels]. */
  encodeMean(image: tf.Tensor4D): tf.Tensor4D {
    const [, h, w, ch] = image.shape;
    if (ch !== this.config.inChannels) throw new LatentError(`the image has ${ch} channels, the VAE takes ${this.config.inChannels}`);
    if (h % this.downFactor !== 0 || w % this.downFactor !== 0) throw new LatentError(`the image is ${w}x${h}; the VAE needs sides that are multiples of ${this.downFactor}`);
    return tf.tidy(() => {
      let x = this.encIn.apply(image);
      for (const b of this.encBlocks) {
        for (const r of b.resnets) x = r.apply(x);
        if (b.down) x = b.down.apply(x);
      }
      x = this.encOut.apply(silu(this.encNorm.apply(this.encMid.apply(x))));
      const moments = this.quant.apply(x);
      return tf.slice(moments, [0, 0, 0, 0], [-1, -1, -1, this.config.latentChannels]);
    });
  }

  /** latent: [B, h, w, latent_channels] (unscaled) -> image [B, h*f, w*f, out_channels], about [-1, 1]. */
  decode(latent: tf.Tensor4D): tf.Tensor4D {
    const ch = latent.shape[3];
    if (ch !== this.config.latentChannels) throw new LatentError(`the latent has ${ch} channels, the VAE takes ${this.config.latentChannels}`);
    return tf.tidy(() => {
      let x = this.decMid.apply(this.decIn.apply(this.postQuant.apply(latent)));
      for (const b of this.decBlocks) {
        for (const r of b.resnets) x = r.apply(x);
        if (b.up) x = b.up.apply(x);
      }
      return this.decOut.apply(silu(this.decNorm.apply(x)));
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}

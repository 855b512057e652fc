/**
 * diffusers' Transformer2DModel as SD 1.x uses it: GroupNorm, 1x1 conv in, one BasicTransformerBlock
 * (self-attention, cross-attention to the text, GEGLU feed-forward, each pre-LayerNorm with a residual),
 * 1x1 conv out, and a residual around it all.
 */
import * as tf from '@tensorflow/tfjs';
import { Attention, Conv2d, GroupNorm, LayerNorm, Linear, gelu } from './layers.js';
import type { Weights } from './weights.js';

/** LayerNorm epsilon of BasicTransformerBlock and GroupNorm epsilon of Transformer2DModel in diffusers. */
const BLOCK_NORM_EPS = 1e-5;
const INPUT_NORM_EPS = 1e-6;

class GEGLUFeedForward {
  readonly proj: Linear;
  readonly out: Linear;
  readonly inner: number;
  constructor(ws: Weights, name: string, dim: number) {
    this.inner = 4 * dim;
    this.proj = new Linear(ws, `${name}.net.0.proj`, dim, 2 * this.inner);
    this.out = new Linear(ws, `${name}.net.2`, this.inner, dim);
  }

  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [hidden, gate] = tf.split(this.proj.apply(x), 2, -1) as [tf.Tensor3D, tf.Tensor3D];
      return this.out.apply(tf.mul(hidden, gelu(gate)));
    });
  }
}

export class BasicTransformerBlock {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: GEGLUFeedForward;
  constructor(ws: Weights, name: string, dim: number, contextDim: number, heads: number) {
    this.norm1 = new LayerNorm(ws, `${name}.norm1`, dim, BLOCK_NORM_EPS);
    this.attn1 = new Attention(ws, `${name}.attn1`, dim, dim, heads, false);
    this.norm2 = new LayerNorm(ws, `${name}.norm2`, dim, BLOCK_NORM_EPS);
    this.attn2 = new Attention(ws, `${name}.attn2`, dim, contextDim, heads, false);
    this.norm3 = new LayerNorm(ws, `${name}.norm3`, dim, BLOCK_NORM_EPS);
    this.ff = new GEGLUFeedForward(ws, `${name}.ff`, dim);
  }

  apply(x: tf.Tensor3D, context: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      let h: tf.Tensor3D = tf.add(x, this.attn1.apply(this.norm1.apply(x)));
      h = tf.add(h, this.attn2.apply(this.norm2.apply(h), context));
      return tf.add(h, this.ff.apply(this.norm3.apply(h)));
    });
  }
}

export class Transformer2D {
  readonly norm: GroupNorm;
  readonly projIn: Conv2d;
  readonly block: BasicTransformerBlock;
  readonly projOut: Conv2d;
  constructor(ws: Weights, name: string, channels: number, contextDim: number, heads: number, groups: number) {
    this.norm = new GroupNorm(ws, `${name}.norm`, groups, channels, INPUT_NORM_EPS);
    this.projIn = new Conv2d(ws, `${name}.proj_in`, channels, channels, 1);
    this.block = new BasicTransformerBlock(ws, `${name}.transformer_blocks.0`, channels, contextDim, heads);
    this.projOut = new Conv2d(ws, `${name}.proj_out`, channels, channels, 1);
  }

  /** x: [B, H, W, C]; context: the text encoder's [B, tokens, contextDim]. */
  apply(x: tf.Tensor4D, context: tf.Tensor3D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const tokens = tf.reshape(this.projIn.apply(this.norm.apply(x)), [b, h * w, c]) as tf.Tensor3D;
      const out = tf.reshape(this.block.apply(tokens, context), [b, h, w, c]) as tf.Tensor4D;
      return tf.add(this.projOut.apply(out), x);
    });
  }
}

/**
 * The building blocks Stable Diffusion's UNet, VAE and CLIP share, on NHWC tensors (TF.js' native layout;
 * PyTorch's NCHW weights are transposed once at load). Names and maths follow diffusers' modules so a
 * reader can hold the two side by side: Linear, Conv2d, GroupNorm, LayerNorm, multi-head Attention,
 * ResnetBlock2D, Downsample2D, Upsample2D.
 */
import * as tf from '@tensorflow/tfjs';
import type { Weights } from './weights.js';

/** A low-rank update added to a Linear's output: x @ down @ up * scale (diffusers' LoRALinearLayer). */
export interface LowRankAdapter {
  down: tf.Tensor2D;
  up: tf.Tensor2D;
  scale: number;
}

export class Linear {
  readonly w: tf.Tensor2D;
  readonly b?: tf.Tensor1D;
  /** Set while a LoRA is attached (lora.ts); the base weights stay as loaded. */
  adapter?: LowRankAdapter;
  constructor(ws: Weights, readonly name: string, readonly inDim: number, readonly outDim: number, bias = true) {
    this.w = ws.linear(`${name}.weight`, inDim, outDim);
    if (bias) this.b = ws.vector(`${name}.bias`, outDim);
  }

  /** x: [..., inDim] -> [..., outDim]. */
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const rows = tf.reshape(x, [-1, this.inDim]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(rows, this.w);
      if (this.b) y = tf.add(y, this.b);
      const a = this.adapter;
      if (a) y = tf.add(y, tf.mul(tf.matMul(tf.matMul(rows, a.down), a.up), a.scale));
      return tf.reshape(y, [...lead, this.outDim]) as T;
    });
  }
}

export class Conv2d {
  readonly w: tf.Tensor4D;
  readonly b: tf.Tensor1D;
  /**
   * pad: torch's symmetric padding; 'right-bottom' is the (0, 1, 0, 1) F.pad the VAE's Downsample2D applies
   * before its unpadded stride-2 convolution.
   */
  constructor(ws: Weights, name: string, inDim: number, outDim: number, readonly k: number, readonly stride = 1, readonly pad: number | 'right-bottom' = (k - 1) / 2) {
    this.w = ws.conv(`${name}.weight`, inDim, outDim, k);
    this.b = ws.vector(`${name}.bias`, outDim);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // Explicit padding: TF's 'same' pads stride-2 convolutions on the right only, torch on both sides.
      const p = this.pad;
      const padded =
        p === 'right-bottom' ? tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]) : p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
      return tf.add(tf.conv2d(padded, this.w, this.stride, 'valid'), this.b);
    });
  }
}

export class GroupNorm {
  readonly gamma: tf.Tensor1D;
  readonly beta: tf.Tensor1D;
  constructor(ws: Weights, name: string, readonly groups: number, readonly channels: number, readonly eps: number) {
    this.gamma = ws.vector(`${name}.weight`, channels);
    this.beta = ws.vector(`${name}.bias`, channels);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      const g = tf.reshape(x, [b, h * w, this.groups, c / this.groups]);
      const { mean, variance } = tf.moments(g, [1, 3], true);
      const n = tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(tf.reshape(n, [b, h, w, c]), this.gamma), this.beta) as tf.Tensor4D;
    });
  }
}

export class LayerNorm {
  readonly gamma: tf.Tensor1D;
  readonly beta: tf.Tensor1D;
  constructor(ws: Weights, name: string, channels: number, readonly eps: number) {
    this.gamma = ws.vector(`${name}.weight`, channels);
    this.beta = ws.vector(`${name}.bias`, channels);
  }

  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.gamma), this.beta) as T;
    });
  }
}

export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** The exact (erf) GELU of torch's F.gelu, used by GEGLU. */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T);
}

/**
 * Scaled dot-product attention over [B, N, heads * d] queries and [B, M, heads * d] keys and values;
 * mask (optional) is added to the [N, M] scores (CLIP's causal mask).
 */
export function attention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, mask?: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, n, c] = q.shape;
    const m = k.shape[1];
    const d = c / heads;
    const split = (t: tf.Tensor3D, len: number) => tf.transpose(tf.reshape(t, [b, len, heads, d]), [0, 2, 1, 3]) as tf.Tensor4D;
    let scores: tf.Tensor = tf.mul(tf.matMul(split(q, n), split(k, m), false, true), 1 / Math.sqrt(d));
    if (mask) scores = tf.add(scores, mask);
    const out = tf.matMul(tf.softmax(scores), split(v, m));
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, n, c]) as tf.Tensor3D;
  });
}

/** diffusers' Attention with q/k/v projections and to_out.0, optionally cross-attending to a context. */
export class Attention {
  readonly toQ: Linear;
  readonly toK: Linear;
  readonly toV: Linear;
  readonly toOut: Linear;
  constructor(ws: Weights, name: string, dim: number, contextDim: number, readonly heads: number, qkvBias: boolean) {
    this.toQ = new Linear(ws, `${name}.to_q`, dim, dim, qkvBias);
    this.toK = new Linear(ws, `${name}.to_k`, contextDim, dim, qkvBias);
    this.toV = new Linear(ws, `${name}.to_v`, contextDim, dim, qkvBias);
    this.toOut = new Linear(ws, `${name}.to_out.0`, dim, dim);
  }

  /**
   * Set during MasaCtrl's mutual self-attention (masactrl.ts): self-attention takes its keys and values from
   * the batch's first element (the original image's branch) for every element.
   */
  keysValuesFromFirst = false;

  apply(x: tf.Tensor3D, context: tf.Tensor3D = x): tf.Tensor3D {
    return tf.tidy(() => {
      const kv = this.keysValuesFromFirst && context === x ? tf.tile(tf.slice(x, [0, 0, 0], [1, -1, -1]), [x.shape[0], 1, 1]) : context;
      return this.toOut.apply(attention(this.toQ.apply(x), this.toK.apply(kv), this.toV.apply(kv), this.heads));
    });
  }
}

/** diffusers' ResnetBlock2D ("default" time-scale-shift, SiLU, output scale 1). */
export class ResnetBlock2D {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly timeProj?: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly shortcut?: Conv2d;
  constructor(ws: Weights, name: string, inDim: number, outDim: number, groups: number, eps: number, tembDim: number | null) {
    this.norm1 = new GroupNorm(ws, `${name}.norm1`, groups, inDim, eps);
    this.conv1 = new Conv2d(ws, `${name}.conv1`, inDim, outDim, 3);
    if (tembDim !== null) this.timeProj = new Linear(ws, `${name}.time_emb_proj`, tembDim, outDim);
    this.norm2 = new GroupNorm(ws, `${name}.norm2`, groups, outDim, eps);
    this.conv2 = new Conv2d(ws, `${name}.conv2`, outDim, outDim, 3);
    if (inDim !== outDim) this.shortcut = new Conv2d(ws, `${name}.conv_shortcut`, inDim, outDim, 1);
  }

  /** temb: the time embedding [B, tembDim] (already the model's; SiLU is applied here as diffusers does). */
  apply(x: tf.Tensor4D, temb?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.conv1.apply(silu(this.norm1.apply(x)));
      if (this.timeProj && temb) {
        const t = this.timeProj.apply(silu(temb));
        h = tf.add(h, tf.reshape(t, [t.shape[0], 1, 1, t.shape[1]]));
      }
      h = this.conv2.apply(silu(this.norm2.apply(h)));
      return tf.add(this.shortcut ? this.shortcut.apply(x) : x, h);
    });
  }
}

/** Stride-2 3x3 convolution; the UNet pads 1 on each side, the VAE pads right and bottom only. */
export class Downsample2D {
  readonly conv: Conv2d;
  constructor(ws: Weights, name: string, channels: number, pad: 1 | 'right-bottom') {
    this.conv = new Conv2d(ws, `${name}.conv`, channels, channels, 3, 2, pad);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.conv.apply(x);
  }
}

/** Nearest-neighbour 2x upsampling then a 3x3 convolution. */
export class Upsample2D {
  readonly conv: Conv2d;
  constructor(ws: Weights, name: string, channels: number) {
    this.conv = new Conv2d(ws, `${name}.conv`, channels, channels, 3);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      // Each pixel repeated into a 2x2 block with rank-4 concat/reshape only: exact (a resize's rounding
      // depends on the backend), and differentiable on every backend (tile has no gradient past rank 5).
      const wide = tf.reshape(tf.concat([x, x], 3), [b, h, 2 * w, c]);
      const up = tf.reshape(tf.concat([wide, wide], 2), [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
      return this.conv.apply(up);
    });
  }
}

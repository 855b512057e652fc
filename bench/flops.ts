/**
 * Analytic FLOPs of one drag step, from the model config (docs/benchmarks.md has the formulas).
 *
 * Convention: a multiply-add is 2 FLOPs, any other elementwise op 1. Batch 1. A step is the forward pass
 * as the engine runs it (mapping is not needed: the latent is optimised in W+), from the const input up to
 * and including the feature block (its ToRGB and skip image included, since the engine computes them), and
 * the backward pass with respect to the optimised style vectors only: input gradients of every layer on the
 * path from the optimised styles to the features, style gradients where a layer's style vector is
 * optimised, no weight gradients, nothing through ToRGB (the loss does not depend on the image).
 * Upsampling counts polyphase: 4 taps (2 per axis) per output sample, the [1,3,3,1] FIR's non-zero taps.
 * The squared-weight sums of demodulation are precomputed at load time (the engine does; PyTorch
 * recomputes them, 18 ci co more per layer, under 1% of the total). Loss, tracking and Adam are counted too
 * but are a few hundred kFLOPs.
 */
import type { StyleGAN2Config } from '../engine/src/index.js';

export interface LayerFlops {
  name: string;
  forward: number;
  backward: number;
}

export interface StepFlopsOptions {
  /** Style vectors optimised (DragGAN: 6). */
  optimizedLayers: number;
  featureBlock: number;
  handles: number;
  /** Points in the motion-supervision disc per handle. */
  discPoints: number;
  /** Tracking window points per handle ((2 r2 + 1)^2). */
  windowPoints: number;
  masked: boolean;
}

/** FLOPs of a modulated/demodulated 3x3 synthesis layer at output resolution r. */
export function synthesisLayerFlops(ci: number, co: number, r: number, up: boolean, W: number, styleGrad: boolean, inputGrad: boolean) {
  const rin = up ? r / 2 : r;
  const upOut = (2 * rin + 2) ** 2; // upfirdn2d output that the 'valid' 3x3 conv consumes
  const conv = 2 * 9 * ci * co * r * r;
  const upsample = up ? 2 * 4 * ci * upOut : 0;
  const forward =
    2 * W * ci + ci + // affine
    ci * rin * rin + // modulation x * s
    upsample +
    conv +
    ci + 2 * ci * co + 2 * co + // demodulation coefficients: s^2, s^2 @ sum(w^2), + eps, rsqrt
    6 * co * r * r; // x * d, + noise, + bias, lrelu, * sqrt 2, clamp
  let backward =
    4 * co * r * r + // through clamp, gain, lrelu, * d
    conv + // input gradient of the conv (the transposed conv)
    upsample; // adjoint of the upsampling
  if (inputGrad) backward += ci * rin * rin; // d(x * s)/dx
  if (styleGrad) {
    backward +=
      2 * co * r * r + // dL/dd = sum over positions of conv_out * g
      co + 2 * ci * co + ci + // back through rsqrt, the matmul and s^2
      2 * ci * rin * rin + // dL/ds = sum over positions of x * g
      2 * W * ci; // back through the affine to w
  }
  return { forward, backward };
}

export function toRgbFlops(c: number, r: number, W: number, skipUpsample: boolean): number {
  return 2 * W * c + c + c * r * r + 2 * c * 3 * r * r + 2 * 3 * r * r + (skipUpsample ? 2 * 4 * 3 * r * r + 3 * r * r : 0);
}

/** Per-layer FLOPs of one drag step (forward to the feature block + backward to the optimised styles). */
export function dragStepFlops(config: StyleGAN2Config, o: StepFlopsOptions): LayerFlops[] {
  const W = config.w_dim;
  const ch = (r: number) => config.channels[String(r)];
  const rows: LayerFlops[] = [];
  for (let r = 4; r <= o.featureBlock; r *= 2) {
    let ws = r === 4 ? 0 : 2 * Math.log2(r) - 5;
    if (r > 4) {
      const f = synthesisLayerFlops(ch(r / 2), ch(r), r, true, W, ws < o.optimizedLayers, true);
      rows.push({ name: `b${r}.conv0`, ...f });
      ws++;
    }
    // b4.conv1's input is the constant: no input gradient.
    const f = synthesisLayerFlops(r === 4 ? ch(4) : ch(r), ch(r), r, false, W, ws < o.optimizedLayers, r > 4);
    rows.push({ name: `b${r}.conv1`, ...f });
    rows.push({ name: `b${r}.torgb`, forward: toRgbFlops(ch(r), r, W, r > 4), backward: 0 });
  }
  const C = ch(o.featureBlock);
  const h = o.featureBlock;
  const sampled = o.handles * o.discPoints;
  // Motion supervision: bilinear samples (4 taps) of moved points, |a - b|, weighting and sum; the backward
  // scatters 4 taps per moved point. Fixed-region term: |x - x0| * w, mean; and its gradient.
  const lossF = sampled * C * (8 + 4) + (o.masked ? 4 * C * h * h : 0);
  const lossB = sampled * C * (2 + 8) + (o.masked ? 3 * C * h * h : 0);
  rows.push({ name: 'loss', forward: lossF, backward: lossB });
  // Tracking (no gradient): bilinear samples over the window and squared distances to the template.
  rows.push({ name: 'tracking', forward: o.handles * o.windowPoints * C * (8 + 3), backward: 0 });
  rows.push({ name: 'adam', forward: 0, backward: 12 * o.optimizedLayers * W });
  return rows;
}

export function totalFlops(rows: LayerFlops[]): { forward: number; backward: number; total: number } {
  const forward = rows.reduce((a, r) => a + r.forward, 0);
  const backward = rows.reduce((a, r) => a + r.backward, 0);
  return { forward, backward, total: forward + backward };
}

/** Points in the motion-supervision disc: integer offsets with |o| < r1 (engine/src/drag/features.ts). */
export function discPointCount(r1: number): number {
  const r = Math.ceil(r1);
  let n = 0;
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy < r1 * r1) n++;
  return n;
}

/**
 * upfirdn2d (upsample by zero insertion, pad or crop, FIR filter, downsample by decimation), as the official
 * StyleGAN3 torch_utils op defines it, in polyphase form for TensorFlow.js.
 *
 * Work is done on "planes": [P, H, W, 1] with every image channel a batch entry. Each 1-D resampling is then
 * a stride-1 convolution whose channels are the polyphase components: an upsampling by `up` is one conv with
 * `up` output channels (one per output phase) followed by a reshape that interleaves them; a downsampling by
 * `down` first folds `down` neighbouring samples into channels and is one conv with `down` input channels.
 * This never computes the zeros of the upsampled signal nor the samples decimation throws away, and uses
 * only conv2d, pad, slice, reshape and transpose, which every backend has (depthwise convolutions and strided
 * transposed convolutions have no gradients, or slow ones, on wasm). The convolutions' input gradient is
 * written out as another forward convolution (the filters are constants; only inputs are differentiated).
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';

/** A constant conv filter with both the forward [kh, kw, in, out] and its adjoint (rotated, in/out swapped). */
export interface PlaneFilter {
  forward: tf.Tensor4D;
  backward: tf.Tensor4D;
}

function planeFilter(data: Float32Array, shape: [number, number, number, number]): PlaneFilter {
  const [kh, kw, cin, cout] = shape;
  const back = new Float32Array(data.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) back[(((kh - 1 - y) * kw + (kw - 1 - x)) * cout + o) * cin + i] = data[((y * kw + x) * cin + i) * cout + o];
      }
    }
  }
  return { forward: tf.tensor4d(data, shape), backward: tf.tensor4d(back, [kh, kw, cout, cin]) };
}

/** Stride-1 'valid' correlation with a constant filter; its input gradient is the 'full' correlation with the adjoint. */
export function convValid(x: tf.Tensor4D, f: PlaneFilter): tf.Tensor4D {
  const [kh, kw] = f.forward.shape;
  return unaryCustomGrad<tf.Tensor4D>(x, (input) => ({
    value: tf.conv2d(input as tf.Tensor4D, f.forward, 1, 'valid'),
    gradFunc: (dy) => tf.conv2d(dy as tf.Tensor4D, f.backward, 1, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]),
  }));
}

/** Pads (positive) or crops (negative) axis 1 (H) or 2 (W) of a 4-D tensor. */
export function padAxis(x: tf.Tensor4D, axis: 1 | 2, lo: number, hi: number): tf.Tensor4D {
  if (lo === 0 && hi === 0) return x;
  const cropLo = Math.max(-lo, 0);
  const cropHi = Math.max(-hi, 0);
  if (cropLo || cropHi) {
    const begin = [0, 0, 0, 0];
    const size = [...x.shape] as number[];
    begin[axis] = cropLo;
    size[axis] -= cropLo + cropHi;
    x = tf.slice(x, begin, size);
  }
  if (lo > 0 || hi > 0) {
    const pads: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pads[axis] = [Math.max(lo, 0), Math.max(hi, 0)];
    x = tf.pad(x, pads);
  }
  return x;
}

/**
 * A 1-D upsampling along one axis: upfirdn with `up`, padding [pad0, pad1] and filter f (scaled by gain),
 * as polyphase taps. Output sample up*m + r = sum_t taps[t][r] * x[m + offset + t].
 */
export interface UpPlan {
  axis: 1 | 2;
  up: number;
  inLength: number;
  outLength: number;
  /** Number of input-domain taps per phase. */
  span: number;
  /** Input index of tap 0 for output block m = 0 (may be negative: zero padding). */
  offset: number;
  /** Output blocks computed (blocks * up >= outLength). */
  blocks: number;
  filter: PlaneFilter;
}

export function planUp(axis: 1 | 2, inLength: number, f: Float32Array | undefined, up: number, pad0: number, pad1: number, gain: number): UpPlan {
  const taps = f ?? Float32Array.of(1);
  const k = taps.length;
  const outLength = inLength * up + pad0 + pad1 - k + 1;
  // Correlation with the flipped filter: out[i] = sum_j g[j] * u[i + j - pad0], u the zero-inserted input.
  const entries: Array<{ r: number; d: number; v: number }> = [];
  for (let r = 0; r < up; r++) {
    for (let j = 0; j < k; j++) {
      const q = r + j - pad0;
      if (((q % up) + up) % up !== 0) continue;
      entries.push({ r, d: q / up, v: taps[k - 1 - j] * gain });
    }
  }
  const dMin = Math.min(...entries.map((e) => e.d));
  const dMax = Math.max(...entries.map((e) => e.d));
  const span = dMax - dMin + 1;
  const data = new Float32Array(span * up);
  for (const e of entries) data[(e.d - dMin) * up + e.r] += e.v;
  const shape: [number, number, number, number] = axis === 1 ? [span, 1, 1, up] : [1, span, 1, up];
  return { axis, up, inLength, outLength, span, offset: dMin, blocks: Math.ceil(outLength / up), filter: planeFilter(data, shape) };
}

export function applyUp(x: tf.Tensor4D, plan: UpPlan): tf.Tensor4D {
  const { axis, up, offset, blocks, span, inLength, outLength } = plan;
  // Input samples offset .. offset + blocks - 1 + span - 1 are read; outside the signal they are zeros.
  const padded = padAxis(x, axis, -offset, offset + blocks - 1 + span - inLength);
  const y = convValid(padded, plan.filter); // [P, blocks, W, up] or [P, H, blocks, up]
  const [p, h, w] = y.shape;
  let out: tf.Tensor4D;
  if (axis === 2) {
    out = tf.reshape(y, [p, h, w * up, 1]);
  } else {
    out = tf.reshape(tf.transpose(y, [0, 1, 3, 2]), [p, h * up, w, 1]);
  }
  return out.shape[axis] === outLength ? out : padAxis(out, axis, 0, outLength - out.shape[axis]!);
}

/** A 1-D (or 2-D radial) downsampling: filter f then keep every `down`-th sample, no padding. */
export interface DownPlan {
  down: number;
  /** Filter length k along each axis. */
  taps: number;
  /** Taps per phase (ceil(k / down)). */
  span: number;
  radial: boolean;
  /** Separable: the axis. */
  axis: 1 | 2;
  filter: PlaneFilter;
}

export function planDown(axis: 1 | 2, f: Float32Array, down: number): DownPlan {
  const k = f.length;
  const span = Math.ceil(k / down);
  // out[m] = sum_j g[j] * x[m*down + j], g = flip(f); j = down*a + b reads phase b at block m + a.
  const data = new Float32Array(span * down);
  for (let j = 0; j < k; j++) data[Math.floor(j / down) * down + (j % down)] = f[k - 1 - j];
  const shape: [number, number, number, number] = axis === 1 ? [span, 1, down, 1] : [1, span, down, 1];
  return { down, taps: k, span, radial: false, axis, filter: planeFilter(data, shape) };
}

/** The radial case: f is [k, k] row-major; both axes are decimated at once with down*down phase channels. */
export function planDownRadial(f: Float32Array, k: number, down: number): DownPlan {
  const span = Math.ceil(k / down);
  const data = new Float32Array(span * span * down * down);
  for (let jy = 0; jy < k; jy++) {
    for (let jx = 0; jx < k; jx++) {
      const [ay, by, ax, bx] = [Math.floor(jy / down), jy % down, Math.floor(jx / down), jx % down];
      data[(ay * span + ax) * down * down + by * down + bx] = f[(k - 1 - jy) * k + (k - 1 - jx)];
    }
  }
  return { down, taps: k, span, radial: true, axis: 1, filter: planeFilter(data, [span, span, down * down, 1]) };
}

/** Output length of a downsampling of n samples (torch: 'valid' conv then [::down]). */
export function downLength(n: number, plan: DownPlan): number {
  return Math.floor((n - plan.taps) / plan.down) + 1;
}

export function applyDown(x: tf.Tensor4D, plan: DownPlan): tf.Tensor4D {
  const { down, span } = plan;
  const [p, h, w] = x.shape;
  const len = (n: number) => downLength(n, plan);
  // Each axis is brought to (out - 1 + span) * down samples: zeros beyond the filter's reach, or cropped.
  const fit = (t: tf.Tensor4D, axis: 1 | 2, n: number) => padAxis(t, axis, 0, (len(n) - 1 + span) * down - n);
  if (plan.radial) {
    const t = fit(fit(x, 1, h), 2, w);
    const [hb, wb] = [t.shape[1] / down, t.shape[2] / down];
    const folded = tf.reshape(tf.transpose(tf.reshape(t, [p * hb, down, wb, down]), [0, 2, 1, 3]), [p, hb, wb, down * down]) as tf.Tensor4D;
    return convValid(folded, plan.filter);
  }
  if (plan.axis === 2) {
    const t = fit(x, 2, w);
    return convValid(tf.reshape(t, [p, h, t.shape[2] / down, down]), plan.filter);
  }
  const t = fit(x, 1, h);
  const folded = tf.transpose(tf.reshape(t, [p, t.shape[1] / down, down, w]), [0, 1, 3, 2]) as tf.Tensor4D;
  return convValid(folded, plan.filter);
}

/** NHWC [N, H, W, C] -> planes [N*C, H, W, 1]. */
export function toPlanes(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]);
}

/** Planes [N*C, H, W, 1] -> NHWC [N, H, W, C]. */
export function fromPlanes(x: tf.Tensor4D, n: number): tf.Tensor4D {
  const [p, h, w] = x.shape;
  return tf.transpose(tf.reshape(x, [n, p / n, h, w]), [0, 2, 3, 1]);
}

export function disposePlan(plan: UpPlan | DownPlan): void {
  tf.dispose([plan.filter.forward, plan.filter.backward]);
}

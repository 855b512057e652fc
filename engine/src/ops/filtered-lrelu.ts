/**
 * StyleGAN3's filtered leaky ReLU (torch_utils/ops/filtered_lrelu.py, the reference semantics): add bias,
 * upsample with FIR filter fu (upfirdn2d with up, padding, gain up^2), leaky ReLU times gain, clamp, then
 * downsample with FIR filter fd (separable, or 2-D radial). The filters are fixed per layer, so the polyphase
 * plans are built once (FilteredLrelu) and applied to any input of the planned size.
 */
import * as tf from '@tensorflow/tfjs';
import { applyDown, applyUp, disposePlan, fromPlanes, planDown, planDownRadial, planUp, toPlanes, type DownPlan, type UpPlan } from './upfirdn2d.js';

export interface FilteredLreluSpec {
  /** Input height = width (square maps). */
  inSize: number;
  /** 1-D upsampling filter, or undefined (one tap). */
  fu?: Float32Array;
  /** Downsampling filter: 1-D, or 2-D [k*k] when `radial`; undefined for one tap. */
  fd?: Float32Array;
  radial: boolean;
  up: number;
  down: number;
  /** [lo, hi] padding of the upsampling stage, the same on both axes. */
  padding: [number, number];
  /** Gain of the activation (> 0). */
  gain: number;
  slope: number;
  clamp: number | null;
  /** Upper bound on one chunk's upsampled intermediate, in bytes (default CHUNK_BYTES). */
  chunkBytes?: number;
}

/**
 * Largest intermediate (at the upsampled rate) one chunk of planes may take. The upsampled signal of a
 * 256 px layer with real widths is ~560 x 560 x 256 floats (320 MB) per copy, and a whole-layer pass holds
 * several copies; chunks of planes, each in its own tidy, keep a forward pass within wasm's 4 GB.
 */
const CHUNK_BYTES = 64 * 2 ** 20;

export class FilteredLrelu {
  private readonly ups: UpPlan[];
  private readonly downs: DownPlan[];
  readonly outSize: number;

  constructor(private readonly spec: FilteredLreluSpec) {
    const { inSize, fu, fd, up, down, padding } = spec;
    // The official op applies a 1-D filter on both axes with gain**(1/2) each, i.e. `up` per axis. The
    // activation's gain rides on the first filter too: lrelu(x) * g = lrelu(g x) for g > 0, one pass fewer
    // over the largest tensor.
    const g = spec.gain;
    if (!(g > 0)) throw new Error(`filtered_lrelu: gain must be > 0, got ${g}`);
    this.ups = [planUp(2, inSize, fu, up, padding[0], padding[1], up * g), planUp(1, inSize, fu, up, padding[0], padding[1], up)];
    const mid = this.ups[0].outLength;
    if (!fd) {
      this.downs = [];
      if (down !== 1) throw new Error('filtered_lrelu: downsampling needs a filter');
      this.outSize = mid;
    } else if (spec.radial) {
      const k = Math.round(Math.sqrt(fd.length));
      this.downs = [planDownRadial(fd, k, down)];
      this.outSize = Math.floor((mid - k) / down) + 1;
    } else {
      this.downs = [planDown(2, fd, down), planDown(1, fd, down)];
      this.outSize = Math.floor((mid - fd.length) / down) + 1;
    }
  }

  /** x: NHWC [N, inSize, inSize, C]; bias [C]. Returns NHWC [N, outSize, outSize, C]. */
  apply(x: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
    const n = x.shape[0];
    const planes = toPlanes(tf.add(x, bias) as tf.Tensor4D);
    const count = planes.shape[0];
    const perChunk = Math.max(1, Math.floor((this.spec.chunkBytes ?? CHUNK_BYTES) / (4 * this.ups[0].outLength * this.ups[1].outLength)));
    if (count <= perChunk) return fromPlanes(this.applyPlanes(planes), n);
    const sizes: number[] = [];
    for (let i = 0; i < count; i += perChunk) sizes.push(Math.min(perChunk, count - i));
    // Each chunk's intermediates are freed by its tidy (under a gradient tape, tfjs keeps what backprop needs).
    const parts = tf.split(planes, sizes, 0).map((chunk) => tf.tidy(() => this.applyPlanes(chunk as tf.Tensor4D)));
    return fromPlanes(tf.concat(parts, 0), n);
  }

  private applyPlanes(planes: tf.Tensor4D): tf.Tensor4D {
    const { slope, clamp } = this.spec;
    let p = planes;
    for (const plan of this.ups) p = applyUp(p, plan);
    p = slope === 1 ? p : tf.leakyRelu(p, slope);
    if (clamp !== null) p = tf.clipByValue(p, -clamp, clamp);
    for (const plan of this.downs) p = applyDown(p, plan);
    return p;
  }

  dispose(): void {
    [...this.ups, ...this.downs].forEach(disposePlan);
  }
}

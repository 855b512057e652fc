/**
 * 2x upsampling with StyleGAN2's [1,3,3,1] FIR filter (upfirdn2d with up=2, gain 4).
 *
 * In polyphase form every output sample is 0.25/0.75 of two neighbouring inputs, which is exactly bilinear
 * resizing with half-pixel centres, except at the borders, where upfirdn2d sees zeros and resizing clamps.
 * So the input is zero-padded by one, resized, and the border samples sliced away. This avoids
 * conv2dTranspose (slow on wasm), depthwise convolutions (no gradients on wasm) and stack/unstack
 * interleaving (Unpack, the gradient of stack, costs ~70 ms per call on wasm); resizeBilinear and its
 * gradient take ~3 ms at 34x34x64.
 *
 * The gradient is written out (customGrad): tfjs's ResizeBilinearGrad ignores half-pixel centres. The
 * adjoint of this upsampling is a stride-2 correlation with the same [1,3,3,1]/4 filter per axis, done as
 * one conv2d with the channels folded into the batch (depthwise convolutions have no gradients on wasm).
 *
 * `extended` = false gives upsample2d (padding (2,1): output 2H). `extended` = true gives the input of
 * StyleGAN2's up-convolution (padding (3,2): output 2H+2, one extra sample on each side), which a 'valid'
 * 3x3 convolution then brings back to 2H.
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';

const TAPS = [0.25, 0.75, 0.75, 0.25];
let adjointFilter: tf.Tensor4D | undefined;

function filter(): tf.Tensor4D {
  if (!adjointFilter) {
    const f = new Float32Array(16);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) f[i * 4 + j] = TAPS[i] * TAPS[j];
    adjointFilter = tf.keep(tf.tensor4d(f, [4, 4, 1, 1]));
  }
  return adjointFilter;
}

export function upsampleFir(x: tf.Tensor4D, extended: boolean): tf.Tensor4D {
  return unaryCustomGrad<tf.Tensor4D>(x, (input) => ({
    value: upsampleFirForward(input as tf.Tensor4D, extended),
    gradFunc: (dy: tf.Tensor) => upsampleFirAdjoint(dy as tf.Tensor4D, extended),
  }));
}

/** The upsampling itself, untaped (for callers that write their own gradient). */
export function upsampleFirForward(x: tf.Tensor4D, extended: boolean): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const resized = tf.image.resizeBilinear(padded, [2 * h + 4, 2 * w + 4], false, true);
  // Intermediates go as soon as they are used: at 1024 px each is hundreds of MB of wasm heap.
  padded.dispose();
  // Resized sample i is upfirdn2d's output sample i - 2.
  const offset = extended ? 1 : 2;
  const extra = extended ? 2 : 0;
  const out = tf.slice(resized, [0, offset, offset, 0], [n, 2 * h + extra, 2 * w + extra, c]);
  resized.dispose();
  return out;
}

/** The adjoint of upsampleFirForward: the input gradient for an output gradient dy. */
export function upsampleFirAdjoint(dy: tf.Tensor4D, extended: boolean): tf.Tensor4D {
  const [n, , , c] = dy.shape;
  // dx[m] = sum_j taps[j] * dy[2m - 1 + e + j], e = 1 when extended: pad (1 - e) before and after.
  const p = extended ? 0 : 1;
  const dyp = p ? tf.pad(dy, [[0, 0], [p, p], [p, p], [0, 0]]) : dy;
  const [, ph, pw] = dyp.shape;
  const folded = tf.reshape(tf.transpose(dyp, [3, 1, 2, 0]), [n * c, ph, pw, 1]) as tf.Tensor4D;
  const dx = tf.conv2d(folded, filter(), 2, 'valid');
  const [, h, w] = dx.shape;
  return tf.transpose(tf.reshape(dx, [c, h, w, n]), [3, 1, 2, 0]) as tf.Tensor4D;
}

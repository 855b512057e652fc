/**
 * 2x upsampling with StyleGAN2's [1,3,3,1] FIR filter (upfirdn2d with up=2, gain 4), written in polyphase
 * form: every output sample is 0.25/0.75 of two neighbouring inputs. This avoids conv2dTranspose (slow on
 * wasm) and depthwise convolutions (no gradients on wasm); it uses only pad, slice, mul, add, stack and
 * reshape, which all have gradients on every backend.
 *
 * `extended` = false gives upsample2d (padding (2,1): output 2H). `extended` = true gives the input of
 * StyleGAN2's up-convolution (padding (3,2): output 2H+2, one extra sample on each side), which a 'valid'
 * 3x3 convolution then brings back to 2H.
 */
import * as tf from '@tensorflow/tfjs';

function upsampleAxis(x: tf.Tensor4D, axis: 1 | 2, extended: boolean): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const len = axis === 1 ? h : w;
  const padSpec: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
  padSpec[axis] = [1, 1];
  const xp = tf.pad(x, padSpec);
  // Fresh arrays for every slice: tfjs keeps the begin/size arrays by reference for the gradient.
  const size = [n, h, w, c];
  size[axis] = len + 1;
  const a = tf.slice(xp, [0, 0, 0, 0], [...size]);
  const beginB = [0, 0, 0, 0];
  beginB[axis] = 1;
  const b = tf.slice(xp, beginB, [...size]);
  // Output sample 2j-1 (odd phase) and 2j (even phase), j = 0..len, interleaved along the axis.
  const odd = tf.add(tf.mul(a, 0.75), tf.mul(b, 0.25));
  const even = tf.add(tf.mul(a, 0.25), tf.mul(b, 0.75));
  const stacked = tf.stack([odd, even], axis + 1);
  const outShape: [number, number, number, number] = [n, h, w, c];
  outShape[axis] = 2 * len + 2;
  let y = tf.reshape(stacked, outShape) as tf.Tensor4D;
  if (!extended) {
    const b2 = [0, 0, 0, 0];
    b2[axis] = 1;
    const s2 = [...outShape];
    s2[axis] = 2 * len;
    y = tf.slice(y, b2, s2);
  }
  return y;
}

export function upsampleFir(x: tf.Tensor4D, extended: boolean): tf.Tensor4D {
  return upsampleAxis(upsampleAxis(x, 1, extended), 2, extended);
}

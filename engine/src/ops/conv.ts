/**
 * Convolution with a constant filter whose gradient is taken only with respect to the input.
 *
 * During a drag the generator's weights are fixed, so the filter gradient is never needed; and the wasm
 * backend lacks Conv2DBackpropFilter and has a Conv2DBackpropInput about 10x slower than the forward conv.
 * The input gradient of a stride-1 convolution is itself a forward convolution of dy with the filter rotated
 * by 180 degrees and its in/out channels swapped, which every backend runs fast.
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';

export interface ConstFilter {
  /** [kh, kw, in, out], used forward. */
  forward: tf.Tensor4D;
  /** [kh, kw, out, in], the forward filter rotated 180 degrees with channels swapped. */
  backward: tf.Tensor4D;
  kernel: number;
}

/** Builds both filters from a tf-layout filter [kh, kw, in, out]. The caller owns the returned tensors. */
export function makeConstFilter(forward: tf.Tensor4D): ConstFilter {
  const backward = tf.tidy(() => tf.reverse(forward, [0, 1]).transpose([0, 1, 3, 2]) as tf.Tensor4D);
  return { forward, backward, kernel: forward.shape[0] };
}

/**
 * Stride-1 convolution. 'same' keeps the size; 'valid' shrinks it by kernel-1 (its input gradient is then
 * the 'full' convolution, i.e. padding kernel-1 on each side).
 */
export function conv2dConst(x: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  return unaryCustomGrad<tf.Tensor4D>(x, (input) => ({
    value: conv2dConstForward(input as tf.Tensor4D, filter, padding),
    gradFunc: (dy: tf.Tensor) => conv2dConstInputGrad(dy as tf.Tensor4D, filter, padding),
  }));
}

/** The convolution itself, untaped (for callers that write their own gradient). */
export function conv2dConstForward(x: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  return tf.conv2d(x, filter.forward, 1, padding);
}

/** The gradient of conv2dConstForward with respect to its input, given the output gradient dy. */
export function conv2dConstInputGrad(dy: tf.Tensor4D, filter: ConstFilter, padding: 'same' | 'valid'): tf.Tensor4D {
  return padding === 'same' ? tf.conv2d(dy, filter.backward, 1, 'same') : tf.conv2d(dy, filter.backward, 1, filter.kernel - 1);
}

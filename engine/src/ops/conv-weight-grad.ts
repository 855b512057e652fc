/**
 * Stride-1 convolution whose filter is trainable (pivotal tuning fine-tunes the generator's weights).
 *
 * The wasm backend registers no Conv2DBackpropFilter kernel (nor DepthwiseConv2dNativeBackpropFilter), so
 * tfjs's own conv2d gradient with respect to the filter throws there; every other op of a StyleGAN2 layer
 * (matMul, square, sum, rsqrt, leakyRelu, clip, resizeBilinear's custom gradient) already has gradients on
 * wasm. Both gradients are written here as forward convolutions, which every backend runs:
 *
 * - input: the 'full' correlation of dy with the filter rotated 180 degrees and its channels swapped;
 * - filter: dW[a, b, i, o] = sum over n, y, x of xpad[n, y + a, x + b, i] * dy[n, y, x, o], which is a 'valid'
 *   convolution of xpad with batch and channels swapped ([i, H, W, n]) by dy used as the filter
 *   ([h, w, n, o]); its output [i, kh, kw, o] is transposed to [kh, kw, i, o].
 */
import * as tf from '@tensorflow/tfjs';

/** Zero padding each side for 'same' (odd kernels only, as in StyleGAN) or 'valid'. */
function padOf(kernel: number, padding: 'same' | 'valid'): number {
  if (padding === 'valid') return 0;
  if (kernel % 2 !== 1) throw new Error(`conv2dTrainable 'same' needs an odd kernel, got ${kernel}`);
  return (kernel - 1) / 2;
}

/** The filter gradient of a stride-1 convolution, using only forward convolutions. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: [number, number], padding: 'same' | 'valid'): tf.Tensor4D {
  return tf.tidy(() => {
    const ph = padOf(kernel[0], padding);
    const pw = padOf(kernel[1], padding);
    const xp = ph || pw ? tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]) : x;
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [i, Hp, Wp, n]
    const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, n, o]
    const g = tf.conv2d(xt, f, 1, 'valid'); // [i, kh, kw, o]
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** The input gradient of a stride-1 convolution as a forward convolution with the rotated filter. */
export function conv2dInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid'): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const back = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const ph = kh - 1 - padOf(kh, padding);
    const pw = kw - 1 - padOf(kw, padding);
    return tf.conv2d(dy, back, 1, [[0, 0], [ph, ph], [pw, pw], [0, 0]]);
  });
}

/** y = conv2d(x, filter, stride 1, padding) with gradients for both x and filter on every backend. */
export function conv2dTrainable(x: tf.Tensor4D, filter: tf.Tensor4D, padding: 'same' | 'valid'): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  padOf(kh, padding);
  padOf(kw, padding);
  type Func = Parameters<typeof tf.customGrad<tf.Tensor4D>>[0];
  const op = tf.customGrad<tf.Tensor4D>(((input: tf.Tensor4D, f: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([input, f]);
    return {
      value: tf.conv2d(input, f, 1, padding),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [conv2dInputGrad(dy, sf, padding), conv2dFilterGrad(sx, dy, [kh, kw], padding)];
      },
    };
  }) as unknown as Func);
  return op(x, filter) as tf.Tensor4D;
}

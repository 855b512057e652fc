/**
 * |x| with the gradient sign(x), i.e. 0 at x = 0, as PyTorch defines it. tfjs's own abs gradient is
 * dy * step(x, -1), which is -1 at exactly 0: at step 0 the fixed-region term |F - F0| is zero everywhere,
 * so every masked drag's first update was pushed by that spurious gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { unaryCustomGrad } from './custom-grad.js';

export function absSignGrad<T extends tf.Tensor>(x: T): T {
  return unaryCustomGrad<T>(x, (input, save) => {
    save([input]);
    return { value: tf.abs(input) as T, gradFunc: (dy, saved) => tf.mul(dy, tf.sign(saved[0])) };
  });
}

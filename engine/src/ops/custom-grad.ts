/** Typed wrappers over tf.customGrad (tfjs's own typing needs casts at every use). */
import * as tf from '@tensorflow/tfjs';

export type UnaryForward<T extends tf.Tensor> = (
  x: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: T; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor };

export function unaryCustomGrad<T extends tf.Tensor>(x: tf.Tensor, forward: UnaryForward<T>): T {
  type Func = Parameters<typeof tf.customGrad<T>>[0];
  const op = tf.customGrad<T>(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const result = forward(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc);
    return { value: result.value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => result.gradFunc(dy, saved) };
  }) as Func);
  return op(x) as T;
}

export type BinaryForward<T extends tf.Tensor> = (
  a: tf.Tensor,
  b: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: T; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** tf.customGrad for two-input ops: the gradient function returns [da, db]. */
export function binaryCustomGrad<T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor, forward: BinaryForward<T>): T {
  type Func = Parameters<typeof tf.customGrad<T>>[0];
  const op = tf.customGrad<T>(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const result = forward(args[0] as tf.Tensor, args[1] as tf.Tensor, args[2] as tf.GradSaveFunc);
    return { value: result.value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => result.gradFunc(dy, saved) };
  }) as Func);
  return op(a, b) as T;
}

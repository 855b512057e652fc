/**
 * Peak throughput of the active tfjs backend on large kernels: a 1024^3 matMul and a 3x3 conv2d
 * (1x64x64x128 -> 128 channels), the same shapes training/reference/drag_step.py --peak times in PyTorch.
 * Median GFLOP/s of `reps` runs after one warm-up; dataSync() is inside the timing (the wasm backend is
 * synchronous, so this only adds the read-back of the result).
 */
import * as tf from '@tensorflow/tfjs';

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

function time(fn: () => tf.Tensor, reps: number): number {
  fn().dispose();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const y = fn();
    y.dataSync();
    ts.push((performance.now() - t) / 1000);
    y.dispose();
  }
  return median(ts);
}

export function tfjsPeak(reps = 5): Record<string, number> {
  const a = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  const b = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  const x = tf.randomNormal([1, 64, 64, 128]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 128, 128]) as tf.Tensor4D;
  try {
    return {
      matmul1024: (2 * 1024 ** 3) / time(() => tf.matMul(a, b), reps) / 1e9,
      conv3x3_128c_64px: (2 * 128 * 128 * 9 * 64 * 64) / time(() => tf.conv2d(x, w, 1, 'same'), reps) / 1e9,
    };
  } finally {
    tf.dispose([a, b, x, w]);
  }
}

/** Device memory in use by TensorFlow.js tensors, where the active backend can tell (webgpu, tensorflow). */
import * as tf from '@tensorflow/tfjs';

export function gpuBytesInUse(): number | undefined {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  // tfjs-node reports its device memory as numBytes only; wasm and cpu keep tensors in host memory.
  if (typeof m.numBytesInGPU === 'number') return m.numBytesInGPU;
  return tf.getBackend() === 'tensorflow' ? m.numBytes : undefined;
}

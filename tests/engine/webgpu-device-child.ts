/**
 * Child process of webgpu.test.ts (the software Vulkan driver is only visible to a process started with
 * its environment). Exercises the webgpu backend's failure paths on a real device and prints one JSON line.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/index.js';
import { onDeviceLost, webgpuAdapter, webgpuDevice } from '../../engine/src/backends/webgpu.js';

const failure = async (fn: () => unknown) => {
  try {
    await fn();
    return undefined;
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    return { name: e.name, code: e.code, message: e.message };
  }
};

await initBackend({ backend: 'webgpu', log: () => {} });
// Large enough that the backend runs it on the GPU (it forwards tiny ops on CPU-resident data to the CPU).
const t = tf.fill([128, 128], 1);
const product = tf.matMul(t, t);
const sum = (await tf.sum(product).data())[0];
const syncRead = await failure(() => tf.matMul(product, t).dataSync());
const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
const lost = new Promise<string>((resolve) => onDeviceLost((err) => resolve(err.message)));
webgpuDevice()!.destroy();
const lostMessage = await lost;
const afterLoss = await failure(() => tf.matMul(product, t).dataSync());
const asyncAfterLoss = await failure(() => tf.matMul(product, t).data());
const report = { adapter: webgpuAdapter(), sum, syncRead, numBytesInGPU: memory.numBytesInGPU, lostMessage, afterLoss, asyncAfterLoss };
console.log(JSON.stringify(report));

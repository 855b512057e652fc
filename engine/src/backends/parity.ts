/**
 * Compares two TensorFlow.js backends on one model: the forward pass (the image and the drag's feature
 * tap), the gradient a drag step takes (of a fixed random projection of features and image, w.r.t. the
 * latent) and a whole drag (every step's tracked handles, the final latent). Used by the webgpu test and by
 * scripts/gpu-check.sh; the reference backend is normally wasm.
 *
 * Every read is asynchronous (`data()`): tfjs-backend-webgpu cannot read GPU memory synchronously in Node
 * (see backends/webgpu.ts), so the latent comes from the reference backend too.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend.js';
import { dragRun } from '../drag/run.js';
import type { PointPair } from '../drag/types.js';
import type { ImageGenerator } from '../generator/types.js';
import { numpyRandn } from '../random.js';

/** Largest absolute difference, and that over the reference's largest magnitude (the 1e-3 criterion). */
export interface Difference {
  maxAbs: number;
  relative: number;
}

export interface ParityReport {
  reference: BackendName;
  candidate: BackendName;
  width: number;
  height: number;
  forward: Difference;
  features: Difference;
  gradient: Difference;
  /** Steps the drag ran on both backends (0 when no drag was asked for). */
  dragSteps: number;
  dragLatent?: Difference;
  /** Drag steps whose tracked handles differ by more than 0.5 px between the backends. */
  dragHandleMismatches: number;
}

interface Measured {
  image: Float32Array;
  features: Float32Array;
  grad: Float32Array;
  handles: number[][][];
  dragLatent?: Float32Array;
}

export interface DragSpec {
  points: PointPair[];
  steps: number;
}

export function difference(ref: Float32Array, got: Float32Array): Difference {
  if (ref.length !== got.length) throw new Error(`length ${got.length} != reference ${ref.length}`);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    // NaN must fail the comparison, not vanish in Math.max.
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return { maxAbs, relative: maxAbs / Math.max(scale, 1e-12) };
}

/** Synthesis to the image, keeping the default feature tap: [image, features]. */
function synthesizeTapped(gen: ImageGenerator, ws: tf.Tensor2D): [tf.Tensor4D, tf.Tensor4D] {
  const layer = gen.defaultFeatureLayer;
  let f: tf.Tensor4D | undefined;
  const state = gen.synthesize(ws, layer, undefined, (i, x) => {
    if (i === layer) f = x;
  });
  return [gen.image(ws, state), f!];
}

async function measure(gen: ImageGenerator, latent: Float32Array, drag?: DragSpec): Promise<Measured> {
  const ws = tf.tensor2d(latent, [gen.numWs, gen.wDim]);
  const [imgT, featT] = tf.tidy(() => synthesizeTapped(gen, ws));
  const image = (await imgT.data()) as Float32Array;
  const features = (await featT.data()) as Float32Array;
  const projF = tf.tensor(Float32Array.from(numpyRandn(11, features.length)), featT.shape);
  const projI = tf.tensor(Float32Array.from(numpyRandn(12, image.length)), imgT.shape);
  tf.dispose([imgT, featT]);
  const gradT = tf.tidy(() =>
    tf.grad((w: tf.Tensor) => {
      const [img, f] = synthesizeTapped(gen, w as tf.Tensor2D);
      return tf.add(tf.sum(tf.mul(f, projF)), tf.sum(tf.mul(img, projI)));
    })(ws),
  );
  const grad = (await gradT.data()) as Float32Array;
  tf.dispose([ws, projF, projI, gradT]);
  const handles: number[][][] = [];
  let dragLatent: Float32Array | undefined;
  if (drag) {
    const options = { maxSteps: drag.steps, stopDistance: 0, stallSteps: 0, imageEvery: 10_000 };
    for await (const ev of dragRun(gen, { latent, points: drag.points, options })) {
      if (ev.type === 'step') {
        handles.push(ev.handles.map((h) => [h[0], h[1]]));
        dragLatent = ev.latent;
      } else if (ev.error) throw new Error(`drag on ${tf.getBackend()} failed: ${ev.error.message}`);
    }
  }
  return { image, features, grad, handles, dragLatent };
}

/**
 * Runs the same model and latent on `reference` then `candidate` and reports the differences. `makeGen`
 * builds the model on the backend active when it is called. The process's backend is left on `candidate`.
 */
export async function compareBackends(
  makeGen: () => ImageGenerator,
  opts: { reference?: BackendName; candidate: BackendName; seed?: number; drag?: DragSpec },
): Promise<ParityReport> {
  const reference = opts.reference ?? 'wasm';
  const log = () => {};
  await initBackend({ backend: reference, log });
  const refGen = makeGen();
  const latent = refGen.latentFromSeed(opts.seed ?? 3);
  const a = await measure(refGen, latent, opts.drag);
  const [width, height] = [refGen.width, refGen.height];
  refGen.dispose();
  await initBackend({ backend: opts.candidate, log });
  const gen = makeGen();
  try {
    const b = await measure(gen, latent, opts.drag);
    let mismatches = Math.abs(a.handles.length - b.handles.length);
    a.handles.forEach((hs, i) => {
      const other = b.handles[i];
      if (other && hs.some((h, j) => Math.hypot(h[0] - other[j][0], h[1] - other[j][1]) > 0.5)) mismatches++;
    });
    return {
      reference,
      candidate: opts.candidate,
      width,
      height,
      forward: difference(a.image, b.image),
      features: difference(a.features, b.features),
      gradient: difference(a.grad, b.grad),
      dragSteps: Math.min(a.handles.length, b.handles.length) - (opts.drag ? 1 : 0),
      dragLatent: a.dragLatent && b.dragLatent ? difference(a.dragLatent, b.dragLatent) : undefined,
      dragHandleMismatches: mismatches,
    };
  } finally {
    gen.dispose();
  }
}

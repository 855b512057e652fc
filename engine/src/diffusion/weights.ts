/**
 * A model's tensors by name, turned into TF.js tensors with the shape the config implies. Every lookup
 * states the shape it expects, so a checkpoint that does not match its config.json fails at load time with
 * the tensor's name, not later inside a matmul.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelLoadError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';

export class Weights {
  private readonly owned: tf.Tensor[] = [];

  constructor(
    private readonly tensors: Map<string, SafeTensor>,
    /** Where the tensors came from, for messages ("unet/diffusion_pytorch_model.safetensors"). */
    readonly source: string,
  ) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  raw(name: string, shape: number[]): SafeTensor {
    const t = this.tensors.get(name);
    if (!t) throw new ModelLoadError(`${this.source} has no tensor '${name}' (its config.json asks for one of shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(`${this.source}: '${name}' has shape [${t.shape}], its config.json implies [${shape}]`);
    }
    return t;
  }

  private keep<T extends tf.Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  vector(name: string, size: number): tf.Tensor1D {
    return this.keep(tf.tensor1d(this.raw(name, [size]).data));
  }

  /** A torch Linear weight [out, in] as the [in, out] matrix x @ W takes. */
  linear(name: string, inDim: number, outDim: number): tf.Tensor2D {
    const t = this.tensors.get(name);
    // Old VAE checkpoints store attention projections as 1x1 convolutions.
    const shape = t && t.shape.length === 4 ? [outDim, inDim, 1, 1] : [outDim, inDim];
    const data = this.raw(name, shape).data;
    return this.keep(tf.tidy(() => tf.transpose(tf.tensor2d(data, [outDim, inDim]))));
  }

  /** A torch Conv2d weight [out, in, kh, kw] as TF.js' [kh, kw, in, out]. */
  conv(name: string, inDim: number, outDim: number, k: number): tf.Tensor4D {
    const data = this.raw(name, [outDim, inDim, k, k]).data;
    return this.keep(tf.tidy(() => tf.transpose(tf.tensor4d(data, [outDim, inDim, k, k]), [2, 3, 1, 0])));
  }

  /** A [rows, cols] table (embeddings) as it is stored. */
  table(name: string, rows: number, cols: number): tf.Tensor2D {
    return this.keep(tf.tensor2d(this.raw(name, [rows, cols]).data, [rows, cols]));
  }

  /** Number of values in the tensors built from these weights. */
  parameterCount(): number {
    return this.owned.reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}

/**
 * The generator interface every architecture implements. The drag loop, inversion, the CLI and the server's
 * worker use only this, so a StyleGAN2 and a StyleGAN3 model are interchangeable to them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config.js';
import type { RGBAImage } from '../drag/types.js';

/** Reads one tensor of a model file by its official state-dict name (fp32 values, PyTorch layout). */
export type ParamSource = (name: string) => { shape: number[]; data: Float32Array };

/**
 * Synthesis paused after a tap: `x` is the architecture's own state for continuing (never padded), `img`
 * the accumulated skip image where the architecture has one, `layer` the index of the last tap run (-1: none).
 */
export interface SynthesisState {
  x: tf.Tensor4D;
  img?: tf.Tensor4D;
  layer: number;
}

/** A tappable feature layer: its index for `synthesize`, a name for people, and its size as tapped (NHWC). */
export interface FeatureLayer {
  index: number;
  name: string;
  width: number;
  height: number;
  channels: number;
}

export interface ImageGenerator {
  readonly config: ModelConfig;
  /** Image width in pixels (as presented: padded when the model is padded to square). */
  readonly width: number;
  /** Image height in pixels. */
  readonly height: number;
  readonly numWs: number;
  readonly wDim: number;
  /** StyleGAN2: one per block b4..bRes (index i = block 4*2^i). StyleGAN3: L0..L(num_layers). */
  featureLayers(): FeatureLayer[];
  /** The layer whose features drive dragging by default (the config's drag_block / drag_layer). */
  readonly defaultFeatureLayer: number;
  /** z (z_dim values) -> w (w_dim values), no truncation. */
  mapping(z: Float32Array): Float32Array;
  /** A w+ latent (numWs x wDim, row-major) from w with truncation psi. */
  broadcast(w: Float32Array, psi?: number): Float32Array;
  /** numpy RandomState(seed).randn(z_dim) -> mapping -> truncation -> broadcast. */
  latentFromSeed(seed: number, psi?: number): Float32Array;
  /** latentFromSeed with an awaited read: the form for every backend, webgpu included (it cannot read synchronously). */
  latentFromSeedAsync(seed: number, psi?: number): Promise<Float32Array>;
  /** Why a latent cannot be used (wrong size, non-finite values), or undefined when it can. */
  checkLatent(latent: Float32Array): string | undefined;
  /**
   * Runs taps (state.layer, untilLayer] from `state` (or from the start); `tap` sees each tap's features
   * (NHWC, aligned to the image as presented). `ws` is [numWs, wDim]. Tensors are owned by the caller's tidy.
   */
  synthesize(ws: tf.Tensor2D, untilLayer: number, state?: SynthesisState, tap?: (index: number, x: tf.Tensor4D) => void): SynthesisState;
  /** Finishes synthesis from `state` (or runs it whole) and returns the image [1, height, width, 3] in ~[-1, 1]. */
  image(ws: tf.Tensor2D, state?: SynthesisState): tf.Tensor4D;
  /** Renders a latent to RGBA bytes of width x height. */
  render(latent: Float32Array): RGBAImage;
  dispose(): void;
}

/**
 * What every StyleGAN architecture does the same way around its synthesis network: the mapping network,
 * truncation, latents from seeds, latent checks, rendering and use-after-dispose guarding. StyleGAN2 and
 * StyleGAN3 extend this and add only their synthesis.
 */
import type * as tf from '@tensorflow/tfjs';
import { numpyRandn } from '../random.js';
import type { RGBAImage } from '../drag/types.js';
import type { CommonConfig } from '../model/common-config.js';
import { MappingNetwork } from './mapping.js';
import { latentProblem, renderLatent } from './rgba.js';
import type { ParamSource, SynthesisState } from './types.js';

export abstract class MappedGenerator<C extends CommonConfig> {
  readonly config: C;
  readonly numWs: number;
  readonly wDim: number;
  private readonly mappingNet: MappingNetwork;
  private disposed = false;

  protected constructor(config: C, get: ParamSource, numWs: number) {
    this.config = config;
    this.numWs = numWs;
    this.wDim = config.w_dim;
    this.mappingNet = new MappingNetwork(get, config);
  }

  abstract image(ws: tf.Tensor2D, state?: SynthesisState): tf.Tensor4D;

  /** Frees the synthesis network's own tensors (the mapping network is freed here). */
  protected abstract disposeSynthesis(): void;

  mapping(z: Float32Array): Float32Array {
    this.assertAlive();
    return this.mappingNet.map(z);
  }

  broadcast(w: Float32Array, psi = 1): Float32Array {
    return this.mappingNet.broadcast(w, this.numWs, psi);
  }

  latentFromSeed(seed: number, psi = this.config.truncation_psi): Float32Array {
    return this.broadcast(this.mapping(this.seedZ(seed)), psi);
  }

  async latentFromSeedAsync(seed: number, psi = this.config.truncation_psi): Promise<Float32Array> {
    this.assertAlive();
    return this.broadcast(await this.mappingNet.mapAsync(this.seedZ(seed)), psi);
  }

  checkLatent(latent: Float32Array): string | undefined {
    return latentProblem(latent, this.numWs, this.wDim);
  }

  render(latent: Float32Array): RGBAImage {
    return renderLatent(this, latent);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.mappingNet.dispose();
    this.disposeSynthesis();
  }

  protected assertAlive(): void {
    if (this.disposed) throw new Error('generator used after dispose()');
  }

  /** numpy RandomState(seed).randn(z_dim), as the official scripts draw z. */
  private seedZ(seed: number): Float32Array {
    return Float32Array.from(numpyRandn(seed, this.config.z_dim));
  }
}

/**
 * LPIPS v0.1 with the VGG16 backbone (Zhang et al. 2018, the `lpips` package's net='vgg'), differentiable in
 * tfjs so the inversion can optimise through it, from the file `stabledrag import-lpips` writes:
 * torchvision's VGG16 `features` convolutions under their torchvision names (`features.N.weight` [out, in, 3,
 * 3], `features.N.bias`) and the learned per-layer weights `lin{k}.weight` [1, C, 1, 1].
 *
 * d(x0, x1) for images in [-1, 1]: both scaled by LPIPS's ScalingLayer, through VGG16 to the last ReLU of
 * each of its five stages (relu1_2 .. relu5_3), each activation unit-normalised over channels, the squared
 * difference weighted over channels by lin{k} (a bias-free 1x1 conv to one channel), averaged over cells and
 * summed over the five layers. The widths are read from the file (the importer holds real files to VGG16's
 * 64..512); the layer layout is fixed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { parseSafetensors, type SafetensorsFile } from '../io/safetensors.js';
import { boxDown } from './loss.js';
import { lpipsPathIn } from './lpips-file.js';

export const LPIPS_METADATA_KEY = 'stabledrag.lpips';
export { LPIPS_FILE_NAME, lpipsPathIn } from './lpips-file.js';

/** Where `stabledrag import-lpips` puts the file by default, and where `invert --loss auto` looks for it. */
export function defaultLpipsPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  return lpipsPathIn(path.join(root, 'models'));
}

/** torchvision VGG16 `features` indices of the 3x3 convolutions, per stage (a 2x2 max-pool between stages). */
export const VGG16_STAGES: readonly (readonly number[])[] = [[0, 2], [5, 7], [10, 12, 14], [17, 19, 21], [24, 26, 28]];
/** VGG16's widths per stage: the LPIPS channels 64, 128, 256, 512, 512. */
export const VGG16_WIDTHS: readonly number[] = [64, 128, 256, 512, 512];
const SHIFT = [-0.03, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.45];
const EPS = 1e-10;
/** The smallest side VGG16's four 2x2 pools leave at least one cell of. */
export const LPIPS_MIN_SIDE = 16;
/**
 * Floor of the squared norm under the sqrt. A cell where every channel is ReLU'd to 0 has norm 0, where
 * sqrt's derivative is infinite; torch's ReLU backward selects 0 there, but tfjs's multiplies (inf * 0 =
 * NaN). Below the floor the gradient goes to the constant instead; the value changes by at most 1e-15.
 */
const NORM_FLOOR = 1e-30;

/** An LPIPS file is refused: corrupt, not an LPIPS file, or tensors that do not fit VGG16's layout. */
export class LpipsLoadError extends EngineError {
  constructor(message: string) {
    super('lpips-load-failed', message);
  }
}

interface Conv {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

export class LpipsVgg {
  /** Channels of the five compared layers. */
  readonly widths: number[];
  private readonly stages: Conv[][];
  private readonly lins: tf.Tensor1D[];
  private readonly shift: tf.Tensor1D;
  private readonly scale: tf.Tensor1D;

  constructor(file: SafetensorsFile, source: string) {
    if (file.metadata[LPIPS_METADATA_KEY] === undefined) throw new LpipsLoadError(`${source}: no '${LPIPS_METADATA_KEY}' metadata (not an LPIPS file)`);
    const get = (name: string, shape: (s: number[]) => boolean, want: string) => {
      const t = file.tensors.get(name);
      if (!t) throw new LpipsLoadError(`${source}: missing tensor ${name}`);
      if (!shape(t.shape)) throw new LpipsLoadError(`${source}: ${name} is [${t.shape}], expected ${want}`);
      for (const v of t.data) if (!Number.isFinite(v)) throw new LpipsLoadError(`${source}: ${name} holds a non-finite value`);
      return t;
    };
    this.widths = [];
    let cin = 3;
    const made: tf.Tensor[] = [];
    try {
      this.stages = VGG16_STAGES.map((stage) =>
        stage.map((idx) => {
          const w = get(`features.${idx}.weight`, (s) => s.length === 4 && s[0] > 0 && s[1] === cin && s[2] === 3 && s[3] === 3, `[out, ${cin}, 3, 3]`);
          const out = w.shape[0];
          const b = get(`features.${idx}.bias`, (s) => s.length === 1 && s[0] === out, `[${out}]`);
          // torch [out, in, kh, kw] -> tfjs [kh, kw, in, out].
          const k = new Float32Array(w.data.length);
          for (let o = 0; o < out; o++)
            for (let i = 0; i < cin; i++) for (let p = 0; p < 9; p++) k[(p * cin + i) * out + o] = w.data[(o * cin + i) * 9 + p];
          const conv = { kernel: tf.tensor4d(k, [3, 3, cin, out]), bias: tf.tensor1d(b.data) };
          made.push(conv.kernel, conv.bias);
          cin = out;
          return conv;
        }),
      );
      this.lins = this.stages.map((stage, k) => {
        const c = stage[stage.length - 1].bias.shape[0];
        this.widths.push(c);
        const lin = get(`lin${k}.weight`, (s) => s.join(',') === `1,${c},1,1`, `[1, ${c}, 1, 1]`);
        for (const v of lin.data) if (v < 0) throw new LpipsLoadError(`${source}: lin${k}.weight holds a negative weight (LPIPS clamps them to >= 0)`);
        const t = tf.tensor1d(lin.data);
        made.push(t);
        return t;
      });
    } catch (err) {
      tf.dispose(made);
      throw err;
    }
    this.shift = tf.tensor1d(SHIFT);
    this.scale = tf.tensor1d(SCALE);
  }

  static fromBytes(bytes: Uint8Array, source: string): LpipsVgg {
    let file: SafetensorsFile;
    try {
      file = parseSafetensors(bytes);
    } catch (err) {
      throw new LpipsLoadError(`${source}: corrupt safetensors file: ${(err as Error).message}`);
    }
    return new LpipsVgg(file, source);
  }

  /** The five unit-normalised layer activations (NHWC) of images [N, H, W, 3] in [-1, 1]. */
  features(image: tf.Tensor4D): tf.Tensor4D[] {
    const [, h, w, c] = image.shape;
    if (c !== 3) throw new Error(`LPIPS takes RGB images, got ${c} channels`);
    if (h < LPIPS_MIN_SIDE || w < LPIPS_MIN_SIDE) throw new Error(`LPIPS takes images at least ${LPIPS_MIN_SIDE}x${LPIPS_MIN_SIDE} (four 2x2 pools), got ${w}x${h}`);
    let x = tf.div(tf.sub(image, this.shift), this.scale) as tf.Tensor4D;
    return this.stages.map((stage, s) => {
      if (s > 0) x = tf.maxPool(x, 2, 2, 'valid');
      for (const conv of stage) x = tf.relu(tf.add(tf.conv2d(x, conv.kernel, 1, 'same'), conv.bias)) as tf.Tensor4D;
      return tf.div(x, tf.add(tf.sqrt(tf.maximum(tf.sum(tf.square(x), 3, true), NORM_FLOOR)), EPS)) as tf.Tensor4D;
    });
  }

  /** LPIPS between the normalised features of two images (features() of each): [N]. */
  distanceOfFeatures(f0: tf.Tensor4D[], f1: tf.Tensor4D[]): tf.Tensor1D {
    let total: tf.Tensor1D | undefined;
    f0.forEach((a, k) => {
      const term = tf.mean(tf.sum(tf.mul(tf.squaredDifference(a, f1[k]), this.lins[k]), 3), [1, 2]) as tf.Tensor1D;
      total = total ? (tf.add(total, term) as tf.Tensor1D) : term;
    });
    return total!;
  }

  /** LPIPS between images [N, H, W, 3] in [-1, 1]: [N]. */
  distance(x0: tf.Tensor4D, x1: tf.Tensor4D): tf.Tensor1D {
    return this.distanceOfFeatures(this.features(x0), this.features(x1));
  }

  dispose(): void {
    tf.dispose([this.shift, this.scale, ...this.stages.flat().flatMap((c) => [c.kernel, c.bias]), ...this.lins]);
  }
}

/** The largest side LpipsLoss feeds VGG16. */
export const LPIPS_MAX_SIDE = 256;

/**
 * The box-downsampling factor that brings an image to at most LPIPS_MAX_SIDE a side: the official StyleGAN2
 * projector area-resizes larger images to 256 before VGG16, which sees the structure LPIPS was trained on at
 * that scale, and VGG16 at 1024 px would cost 16x the compute per step. The smallest power of two that does
 * it; where the sides stop dividing before that, the largest power of two that divides both (box
 * downsampling needs whole cells).
 */
export function lpipsDownFactor(width: number, height: number): number {
  for (let f = 1; f <= Math.max(width, height); f *= 2) {
    if (width % f !== 0 || height % f !== 0) return Math.max(1, f / 2);
    if (width / f <= LPIPS_MAX_SIDE && height / f <= LPIPS_MAX_SIDE) return f;
  }
  return 1;
}

/** LPIPS to a fixed target, whose features are computed once: the inversion's perceptual term. */
export class LpipsLoss {
  private readonly targetFeatures: tf.Tensor4D[];
  private readonly factor: number;

  constructor(
    private readonly net: LpipsVgg,
    target: tf.Tensor4D,
  ) {
    this.factor = lpipsDownFactor(target.shape[2], target.shape[1]);
    this.targetFeatures = tf.tidy(() => net.features(boxDown(target, this.factor)).map((f) => tf.keep(f)));
  }

  loss(image: tf.Tensor4D): tf.Scalar {
    return tf.sum(this.net.distanceOfFeatures(this.net.features(boxDown(image, this.factor)), this.targetFeatures)) as tf.Scalar;
  }

  dispose(): void {
    tf.dispose(this.targetFeatures);
  }
}

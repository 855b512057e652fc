/**
 * The forward pass of a StyleGAN2(-ADA) ResNet discriminator (the official networks_stylegan2.py
 * Discriminator, what `stabledrag import` keeps as discriminator.safetensors), for the inversion's
 * perceptual loss: the model's own D has learned which image features matter for its domain.
 *
 * Each block b{res} (res = image size down to 8): fromrgb (first block only, 1x1, leaky ReLU), conv0 (3x3),
 * conv1 (3x3, down 2) and a bias-free 1x1 skip (down 2), conv1 and skip scaled by sqrt(1/2) and summed. The
 * [1,3,3,1] low-pass filter of each down-sampling layer is folded into its kernel once at load (filtering
 * then a stride-2 correlation is one stride-2 correlation with the filter convolved into the kernel), so a
 * layer is one tf.conv2d, whose input gradient every backend has. The epilogue b4 (minibatch std, 3x3 conv,
 * two fully connected layers) gives the logit, for unconditional D only; features need only the blocks.
 * Arithmetic is fp32 (the official fp16 blocks differ only in precision).
 */
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { parseSafetensors, type SafetensorsFile } from '../io/safetensors.js';

export const DISCRIMINATOR_KEY = 'stabledrag.discriminator';
const SQRT2 = Math.SQRT2;
const SQRT_HALF = Math.SQRT1_2;
/** The [1,3,3,1] filter normalised to sum 1 (upfirdn2d.setup_filter), outer product. */
const FIR = (() => {
  const t = [1, 3, 3, 1].map((v) => v / 8);
  return t.flatMap((a) => t.map((b) => a * b));
})();

/** A discriminator file is refused: corrupt, another architecture, or tensors that do not fit. */
export class DiscriminatorLoadError extends EngineError {
  constructor(message: string) {
    super('discriminator-load-failed', message);
  }
}

type Src = { shape: number[]; data: Float32Array };

/** A Conv2dLayer as one tfjs conv: kernel [kh, kw, in, out] with weight gain (and the down filter) folded in. */
interface Conv {
  kernel: tf.Tensor4D;
  bias?: tf.Tensor1D;
  stride: number;
  pad: number;
  lrelu: boolean;
}

function conv(w: Src, b: Src | undefined, down: boolean, lrelu: boolean): Conv {
  const [out, inC, kh, kw] = w.shape;
  const gain = 1 / Math.sqrt(inC * kh * kw);
  if (!down) {
    const k = new Float32Array(kh * kw * inC * out);
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inC; i++)
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) k[((y * kw + x) * inC + i) * out + o] = w.data[((o * inC + i) * kh + y) * kw + x] * gain;
    return { kernel: tf.tensor4d(k, [kh, kw, inC, out]), bias: b && tf.tensor1d(b.data), stride: 1, pad: (kh - 1) / 2, lrelu };
  }
  // K = FIR (4x4) convolved with w (kh x kw): (kh + 3) x (kw + 3). conv2d_resample pads the input by
  // (kernel - 1) / 2 + 1 each side before filtering (3x3: 2; 1x1: 1), then correlates with stride 2.
  const K = kh + 3;
  const k = new Float32Array(K * K * inC * out);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inC; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const v = w.data[((o * inC + i) * kh + y) * kw + x] * gain;
          for (let a = 0; a < 4; a++) for (let c = 0; c < 4; c++) k[(((y + a) * K + (x + c)) * inC + i) * out + o] += v * FIR[a * 4 + c];
        }
  return { kernel: tf.tensor4d(k, [K, K, inC, out]), bias: b && tf.tensor1d(b.data), stride: 2, pad: (kh - 1) / 2 + 1, lrelu };
}

function applyConv(c: Conv, x: tf.Tensor4D, gain: number, clamp: number | null): tf.Tensor4D {
  let y: tf.Tensor4D = tf.conv2d(x, c.kernel, c.stride, [[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]]);
  if (c.bias) y = tf.add(y, c.bias);
  if (c.lrelu) y = tf.leakyRelu(y, 0.2);
  const g = (c.lrelu ? SQRT2 : 1) * gain;
  if (g !== 1) y = tf.mul(y, g);
  return clamp === null ? y : tf.clipByValue(y, -clamp * gain, clamp * gain);
}

interface Block {
  resolution: number;
  fromrgb?: Conv;
  conv0: Conv;
  conv1: Conv;
  skip: Conv;
}

export class StyleGAN2Discriminator {
  readonly resolution: number;
  private readonly blocks: Block[];
  private readonly clamp: number | null;
  private readonly epilogue?: { conv: Conv; fc: tf.Tensor2D; fcBias: tf.Tensor1D; out: tf.Tensor2D; outBias: tf.Tensor1D };

  constructor(file: SafetensorsFile, source: string) {
    const raw = file.metadata[DISCRIMINATOR_KEY];
    if (raw === undefined) throw new DiscriminatorLoadError(`${source}: no '${DISCRIMINATOR_KEY}' metadata (not a discriminator file)`);
    let meta: { class_name?: string; init_kwargs?: Record<string, unknown> };
    try {
      meta = JSON.parse(raw);
    } catch (err) {
      throw new DiscriminatorLoadError(`${source}: discriminator metadata is not valid JSON (${(err as Error).message})`);
    }
    const kw = meta.init_kwargs ?? {};
    const block = (kw.block_kwargs ?? {}) as Record<string, unknown>;
    const epi = (kw.epilogue_kwargs ?? {}) as Record<string, unknown>;
    const architecture = (kw.architecture ?? block.architecture ?? 'resnet') as string;
    if (!/networks_stylegan2\.Discriminator$|networks\.Discriminator$/.test(meta.class_name ?? '') || architecture !== 'resnet') {
      throw new DiscriminatorLoadError(`${source}: only StyleGAN2 ResNet discriminators are supported (got ${meta.class_name}, architecture ${architecture})`);
    }
    if ((epi.mbstd_num_channels ?? 1) !== 1) throw new DiscriminatorLoadError(`${source}: mbstd_num_channels ${epi.mbstd_num_channels} is not supported (1 is)`);
    this.clamp = kw.conv_clamp === undefined ? 256 : (kw.conv_clamp as number | null);
    const get = (name: string): Src => {
      const t = file.tensors.get(name);
      if (!t) throw new DiscriminatorLoadError(`${source}: missing tensor ${name}`);
      for (const v of t.data) if (!Number.isFinite(v)) throw new DiscriminatorLoadError(`${source}: ${name} holds a non-finite value`);
      return t;
    };
    const resolutions = [...file.tensors.keys()]
      .map((n) => /^b(\d+)\.conv0\.weight$/.exec(n)?.[1])
      .filter((r): r is string => r !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    if (!resolutions.length) throw new DiscriminatorLoadError(`${source}: no discriminator blocks (b<res>.conv0.weight)`);
    this.resolution = resolutions[0];
    const expect = (name: string, shape: number[]) => {
      const t = get(name);
      if (t.shape.join(',') !== shape.join(',')) throw new DiscriminatorLoadError(`${source}: ${name} is [${t.shape}], expected [${shape}]`);
      return t;
    };
    let channels = 0;
    this.blocks = resolutions.map((res, index) => {
      if (res !== this.resolution >> index) throw new DiscriminatorLoadError(`${source}: block resolutions are not successive halvings (${resolutions})`);
      const p = `b${res}`;
      const w0 = get(`${p}.conv0.weight`);
      const tmp = w0.shape[0];
      const out = get(`${p}.conv1.weight`).shape[0];
      let fromrgb: Conv | undefined;
      if (index === 0) {
        const wr = get(`${p}.fromrgb.weight`);
        fromrgb = conv(expect(`${p}.fromrgb.weight`, [tmp, wr.shape[1], 1, 1]), expect(`${p}.fromrgb.bias`, [tmp]), false, true);
      } else if (channels !== tmp) {
        throw new DiscriminatorLoadError(`${source}: ${p} takes ${tmp} channels, the block before gives ${channels}`);
      }
      channels = out;
      return {
        resolution: res,
        fromrgb,
        conv0: conv(expect(`${p}.conv0.weight`, [tmp, tmp, 3, 3]), expect(`${p}.conv0.bias`, [tmp]), false, true),
        conv1: conv(expect(`${p}.conv1.weight`, [out, tmp, 3, 3]), expect(`${p}.conv1.bias`, [out]), true, true),
        skip: conv(expect(`${p}.skip.weight`, [out, tmp, 1, 1]), undefined, true, false),
      };
    });
    if (file.tensors.has('b4.out.weight') && !(kw.c_dim as number)) {
      const c4 = channels;
      const fc = expect('b4.fc.weight', [c4, c4 * 16]);
      const outW = expect('b4.out.weight', [1, c4]);
      // fc's input is NCHW-flattened (c, y, x); the forward pass transposes to NCHW before flattening.
      this.epilogue = {
        conv: conv(expect('b4.conv.weight', [c4, c4 + 1, 3, 3]), expect('b4.conv.bias', [c4]), false, true),
        fc: tf.tidy(() => tf.mul(tf.transpose(tf.tensor2d(fc.data, [c4, c4 * 16])), 1 / Math.sqrt(c4 * 16)) as tf.Tensor2D),
        fcBias: tf.tensor1d(expect('b4.fc.bias', [c4]).data),
        out: tf.tidy(() => tf.mul(tf.transpose(tf.tensor2d(outW.data, [1, c4])), 1 / Math.sqrt(c4)) as tf.Tensor2D),
        outBias: tf.tensor1d(expect('b4.out.bias', [1]).data),
      };
    }
  }

  static fromBytes(bytes: Uint8Array, source: string): StyleGAN2Discriminator {
    let file: SafetensorsFile;
    try {
      file = parseSafetensors(bytes);
    } catch (err) {
      throw new DiscriminatorLoadError(`${source}: corrupt safetensors file: ${(err as Error).message}`);
    }
    return new StyleGAN2Discriminator(file, source);
  }

  /** Whether logit() is available (unconditional D with its epilogue). */
  get hasLogit(): boolean {
    return this.epilogue !== undefined;
  }

  /**
   * The outputs of the first `count` blocks (all when omitted), NHWC, for an image [1, R, R, C] in [-1, 1]
   * (R the discriminator's resolution).
   */
  features(img: tf.Tensor4D, count = this.blocks.length): tf.Tensor4D[] {
    const [, h, w] = img.shape;
    if (h !== this.resolution || w !== this.resolution) throw new Error(`the discriminator takes ${this.resolution}x${this.resolution} images, got ${w}x${h}`);
    const out: tf.Tensor4D[] = [];
    let x = img;
    for (const b of this.blocks.slice(0, count)) {
      if (b.fromrgb) x = applyConv(b.fromrgb, x, 1, this.clamp);
      const y = applyConv(b.skip, x, SQRT_HALF, null);
      const h0 = applyConv(b.conv0, x, 1, this.clamp);
      x = tf.add(y, applyConv(b.conv1, h0, SQRT_HALF, this.clamp)) as tf.Tensor4D;
      out.push(x);
    }
    return out;
  }

  /**
   * D(img) for one image [1, R, R, C]: [1, 1]. The minibatch-std channel of a batch of one is sqrt(1e-8)
   * (the deviation over a group of one image).
   */
  logit(img: tf.Tensor4D): tf.Tensor2D {
    const e = this.epilogue;
    if (!e) throw new Error('this discriminator has no unconditional epilogue');
    const feats = this.features(img);
    const x = feats[feats.length - 1];
    const [n, h, w, c] = x.shape;
    if (n !== 1) throw new Error('logit() takes one image');
    const withStd = tf.concat([x, tf.fill([n, h, w, 1], Math.sqrt(1e-8))], 3) as tf.Tensor4D;
    const y = applyConv(e.conv, withStd, 1, this.clamp);
    const flat = tf.reshape(tf.transpose(y, [0, 3, 1, 2]), [n, c * h * w]) as tf.Tensor2D;
    const fc = tf.mul(tf.leakyRelu(tf.add(tf.matMul(flat, e.fc), e.fcBias), 0.2), SQRT2) as tf.Tensor2D;
    return tf.add(tf.matMul(fc, e.out), e.outBias) as tf.Tensor2D;
  }

  dispose(): void {
    const convs = this.blocks.flatMap((b) => [b.fromrgb, b.conv0, b.conv1, b.skip]).filter((c): c is Conv => !!c);
    if (this.epilogue) convs.push(this.epilogue.conv);
    tf.dispose(convs.flatMap((c) => [c.kernel, ...(c.bias ? [c.bias] : [])]));
    if (this.epilogue) tf.dispose([this.epilogue.fc, this.epilogue.fcBias, this.epilogue.out, this.epilogue.outBias]);
  }
}

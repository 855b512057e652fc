/**
 * Facial landmark detector for the bundled model's domain (stylised faces, 128x128), used by the drag
 * benchmark to measure where a dragged landmark ended up independently of the generator's own features.
 *
 * File: models/landmarks/detector.safetensors, written by training/landmarks/export.py. Tensors keep PyTorch
 * names and layouts; the metadata key `stabledrag.detector` holds the JSON config (layer lists, landmark
 * names, input size, normalisation, measured error). The forward pass mirrors training/landmarks/model.py:
 * 3x3 convs with padding 1 on every side (not TF 'same', which pads stride-2 convs asymmetrically), nearest
 * 2x upsampling, a 1x1 head to one heatmap per landmark, softmax over positions and the expected cell centre.
 * tests: engine/src/landmarks/detector.test.ts (PyTorch parity on cpu and wasm, accuracy on fresh renders).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { EngineError, ModelLoadError } from '../errors.js';
import { parseSafetensors, SafetensorsError, type SafeTensor, type SafetensorsFile } from '../io/safetensors.js';
import type { RGBAImage } from '../drag/types.js';

export const DETECTOR_METADATA_KEY = 'stabledrag.detector';
export const DETECTOR_ARCHITECTURE = 'heatmap-unet-softargmax-v1';
export const DETECTOR_FILE_NAME = 'detector.safetensors';

/** An image handed to detect() has the wrong size or layout. Nothing was run. */
export class DetectorInputError extends EngineError {
  constructor(message: string) {
    super('invalid-detector-input', message);
  }
}

export interface DetectorConvSpec {
  name: string;
  in: number;
  out: number;
  kernel: number;
  stride: number;
  padding: number;
}

export interface DetectorDecoderSpec {
  name: string;
  /** Channels of the coarser map coming in. */
  coarse: number;
  /** Channels of the skip (encoder output at twice the resolution) and of the block's output. */
  channels: number;
}

export interface DetectorConfig {
  architecture: string;
  inputSize: number;
  inputChannels: number;
  normalization: { scale: number; offset: number; formula?: string };
  heatmapSize: number;
  encoder: DetectorConvSpec[];
  decoder: DetectorDecoderSpec[];
  head: { name: string; in: number; out: number; kernel: number };
  landmarkNames: string[];
  /** Measured error of this file on held-out renders (free-form, reported by export.py). */
  heldOutError?: unknown;
  [extra: string]: unknown;
}

/** The exported detector shipped in the repository. */
export function defaultDetectorPath(): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  return path.join(root, 'models', 'landmarks', DETECTOR_FILE_NAME);
}

function fail(source: string, message: string): never {
  throw new ModelLoadError(`${source}: ${message}`);
}

function isPosInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}

/** Checks the config's own consistency (channel chain, resolutions) and returns it typed. */
export function validateDetectorConfig(raw: unknown, source: string): DetectorConfig {
  if (typeof raw !== 'object' || raw === null) fail(source, 'detector config is not a JSON object');
  const c = raw as Record<string, unknown>;
  if (c.architecture !== DETECTOR_ARCHITECTURE) {
    fail(source, `detector architecture ${JSON.stringify(c.architecture)} is not supported (expected '${DETECTOR_ARCHITECTURE}')`);
  }
  for (const key of ['inputSize', 'inputChannels', 'heatmapSize'] as const) {
    if (!isPosInt(c[key])) fail(source, `detector config '${key}' must be a positive integer, got ${JSON.stringify(c[key])}`);
  }
  if (c.inputChannels !== 3) fail(source, `detector config 'inputChannels' must be 3 (RGB), got ${c.inputChannels}`);
  const norm = c.normalization as Record<string, unknown> | undefined;
  if (!norm || !Number.isFinite(norm.scale) || !Number.isFinite(norm.offset)) {
    fail(source, `detector config 'normalization' needs finite 'scale' and 'offset'`);
  }
  const names = c.landmarkNames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n.length > 0)) {
    fail(source, `detector config 'landmarkNames' must be a non-empty array of names`);
  }
  if (new Set(names).size !== names.length) fail(source, `detector config 'landmarkNames' has duplicates`);
  const enc = c.encoder as DetectorConvSpec[];
  const dec = c.decoder as DetectorDecoderSpec[];
  if (!Array.isArray(enc) || enc.length === 0) fail(source, `detector config 'encoder' must be a non-empty layer list`);
  if (!Array.isArray(dec)) fail(source, `detector config 'decoder' must be a layer list`);
  const layerNames = new Set<string>();
  const checkName = (n: unknown, where: string) => {
    if (typeof n !== 'string' || !n || layerNames.has(n)) fail(source, `${where}: missing or duplicate layer name ${JSON.stringify(n)}`);
    layerNames.add(n);
  };
  // Walk the encoder: channel chain and resolutions; remember channels per resolution for the skips.
  let ch = c.inputChannels as number;
  let res = c.inputSize as number;
  const skipChannels = new Map<number, number>();
  enc.forEach((l, i) => {
    const where = `encoder[${i}]`;
    checkName(l?.name, where);
    if (!isPosInt(l.in) || !isPosInt(l.out) || !isPosInt(l.kernel) || !isPosInt(l.stride)) fail(source, `${where} ('${l.name}'): in/out/kernel/stride must be positive integers`);
    if (l.kernel % 2 !== 1 || l.padding !== (l.kernel - 1) / 2) fail(source, `${where} ('${l.name}'): kernel must be odd with padding (kernel-1)/2`);
    if (l.in !== ch) fail(source, `${where} ('${l.name}'): takes ${l.in} channels but the previous layer gives ${ch}`);
    if (l.stride !== 1 && l.stride !== 2) fail(source, `${where} ('${l.name}'): stride must be 1 or 2`);
    if (res % l.stride !== 0) fail(source, `${where} ('${l.name}'): resolution ${res} is not divisible by stride ${l.stride}`);
    ch = l.out;
    res /= l.stride;
    skipChannels.set(res, ch);
  });
  dec.forEach((d, i) => {
    const where = `decoder[${i}]`;
    checkName(d?.name, where);
    if (!isPosInt(d.coarse) || !isPosInt(d.channels)) fail(source, `${where} ('${d.name}'): coarse/channels must be positive integers`);
    if (d.coarse !== ch) fail(source, `${where} ('${d.name}'): takes ${d.coarse} channels but the previous layer gives ${ch}`);
    res *= 2;
    const skip = skipChannels.get(res);
    if (skip !== d.channels) fail(source, `${where} ('${d.name}'): skip at resolution ${res} has ${skip ?? 'no'} channels, expected ${d.channels}`);
    ch = d.channels;
  });
  const head = c.head as DetectorConfig['head'];
  checkName(head?.name, 'head');
  if (head.in !== ch || head.kernel !== 1) fail(source, `head: must be a 1x1 conv taking ${ch} channels, got in=${head.in} kernel=${head.kernel}`);
  if (head.out !== names.length) fail(source, `head: gives ${head.out} heatmaps but there are ${names.length} landmark names`);
  if (res !== c.heatmapSize) fail(source, `the layers end at resolution ${res} but heatmapSize is ${c.heatmapSize}`);
  return c as DetectorConfig;
}

/** Every tensor the config implies: name -> PyTorch-layout shape. */
export function expectedDetectorTensors(config: DetectorConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const l of config.encoder) {
    m.set(`${l.name}.weight`, [l.out, l.in, l.kernel, l.kernel]);
    m.set(`${l.name}.bias`, [l.out]);
  }
  for (const d of config.decoder) {
    m.set(`${d.name}.proj.weight`, [d.channels, d.coarse, 1, 1]);
    m.set(`${d.name}.proj.bias`, [d.channels]);
    m.set(`${d.name}.conv.weight`, [d.channels, d.channels, 3, 3]);
    m.set(`${d.name}.conv.bias`, [d.channels]);
  }
  m.set(`${config.head.name}.weight`, [config.head.out, config.head.in, 1, 1]);
  m.set(`${config.head.name}.bias`, [config.head.out]);
  return m;
}

/** [out, in, kh, kw] (PyTorch) -> [kh, kw, in, out] (tfjs conv2d filter). */
function convFilter(t: SafeTensor): tf.Tensor4D {
  const [o, i, kh, kw] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = t.data[((a * i + b) * kh + y) * kw + x];
  return tf.tensor4d(out, [kh, kw, i, o]);
}

interface Conv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  pad: number;
}

export class LandmarkDetector {
  readonly config: DetectorConfig;
  readonly landmarkNames: readonly string[];
  readonly inputSize: number;
  readonly source: string;
  private readonly encoder: Conv[];
  private readonly decoder: Array<{ proj: Conv; conv: Conv }>;
  private readonly head: Conv;
  /** [G*G, 2]: the (x, y) centre of every heatmap cell in input pixels, row-major cells. */
  private readonly centres: tf.Tensor2D;
  private disposed = false;

  constructor(config: DetectorConfig, get: (name: string) => SafeTensor, source = 'detector') {
    this.config = config;
    this.source = source;
    this.landmarkNames = Object.freeze([...config.landmarkNames]);
    this.inputSize = config.inputSize;
    const conv = (name: string, stride: number, pad: number): Conv => ({
      filter: convFilter(get(`${name}.weight`)),
      bias: tf.tensor1d(get(`${name}.bias`).data),
      stride,
      pad,
    });
    this.encoder = config.encoder.map((l) => conv(l.name, l.stride, l.padding));
    this.decoder = config.decoder.map((d) => ({ proj: conv(`${d.name}.proj`, 1, 0), conv: conv(`${d.name}.conv`, 1, 1) }));
    this.head = conv(config.head.name, 1, 0);
    const g = config.heatmapSize;
    const s = config.inputSize / g;
    const c = new Float32Array(g * g * 2);
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++) {
        c[2 * (i * g + j)] = j * s + (s - 1) / 2;
        c[2 * (i * g + j) + 1] = i * s + (s - 1) / 2;
      }
    this.centres = tf.tensor2d(c, [g * g, 2]);
  }

  private apply(x: tf.Tensor4D, c: Conv, relu: boolean): tf.Tensor4D {
    return tf.fused.conv2d({ x, filter: c.filter, strides: c.stride, pad: c.pad, bias: c.bias, activation: relu ? 'relu' : 'linear' });
  }

  /**
   * The first `stages` encoder outputs (after ReLU) of a normalised NHWC input, untidied so gradients can
   * flow through them: inversion uses them as a perceptual loss for the faces model.
   */
  encoderFeatures(x: tf.Tensor4D, stages: number): tf.Tensor4D[] {
    if (this.disposed) throw new EngineError('disposed', 'this landmark detector was disposed');
    const out: tf.Tensor4D[] = [];
    let h = x;
    for (const c of this.encoder.slice(0, stages)) {
      h = this.apply(h, c, true);
      out.push(h);
    }
    return out;
  }

  /** Normalised NHWC input -> heatmap logits [N, G, G, L]. */
  heatmapLogits(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const skips = new Map<number, tf.Tensor4D>();
      let h = x;
      for (const c of this.encoder) {
        h = this.apply(h, c, true);
        skips.set(h.shape[1], h);
      }
      for (const d of this.decoder) {
        const p = this.apply(h, d.proj, false);
        const up = tf.image.resizeNearestNeighbor(p, [p.shape[1] * 2, p.shape[2] * 2]);
        h = this.apply(tf.relu(tf.add(up, skips.get(up.shape[1])!)) as tf.Tensor4D, d.conv, true);
      }
      return this.apply(h, this.head, false);
    });
  }

  /** Normalised NHWC input -> landmarks [N, L, 2] (x, y) in input pixels. */
  forward(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const logits = this.heatmapLogits(x);
      const [n, g, , l] = logits.shape;
      const probs = tf.softmax(tf.transpose(tf.reshape(logits, [n, g * g, l]), [0, 2, 1]).reshape([n * l, g * g]));
      return tf.reshape(tf.matMul(probs, this.centres), [n, l, 2]);
    });
  }

  /**
   * Landmarks of one image or a batch: Float32Array of images.length x landmarks x 2 values, (x, y) in pixels
   * with (0, 0) the centre of the top-left pixel (the engine's Point convention), landmarkNames order.
   * Images must be inputSize x inputSize RGBA (alpha is ignored).
   */
  detect(image: RGBAImage | RGBAImage[]): Float32Array {
    if (this.disposed) throw new EngineError('disposed', 'this landmark detector was disposed');
    const images = Array.isArray(image) ? image : [image];
    const size = this.inputSize;
    if (images.length === 0) return new Float32Array(0);
    const input = new Float32Array(images.length * size * size * 3);
    const { scale, offset } = this.config.normalization;
    images.forEach((img, k) => {
      if (!img || img.width !== size || img.height !== size) {
        throw new DetectorInputError(`image ${k} is ${img?.width}x${img?.height}; the landmark detector takes ${size}x${size}`);
      }
      if (!img.data || img.data.length !== size * size * 4) {
        throw new DetectorInputError(`image ${k} has ${img.data?.length} bytes of data, expected ${size * size * 4} (RGBA)`);
      }
      const base = k * size * size * 3;
      for (let p = 0; p < size * size; p++) {
        input[base + 3 * p] = img.data[4 * p] * scale + offset;
        input[base + 3 * p + 1] = img.data[4 * p + 1] * scale + offset;
        input[base + 3 * p + 2] = img.data[4 * p + 2] * scale + offset;
      }
    });
    return this.detectNormalized(input, images.length);
  }

  /** Landmarks from an already-normalised NHWC RGB batch (values x * scale + offset). */
  detectNormalized(input: Float32Array, count: number): Float32Array {
    if (this.disposed) throw new EngineError('disposed', 'this landmark detector was disposed');
    const size = this.inputSize;
    if (input.length !== count * size * size * 3) {
      throw new DetectorInputError(`input has ${input.length} values, expected ${count} x ${size} x ${size} x 3`);
    }
    const out = tf.tidy(() => this.forward(tf.tensor4d(input, [count, size, size, 3])));
    try {
      return Float32Array.from(out.dataSync());
    } finally {
      out.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of [...this.encoder, ...this.decoder.flatMap((d) => [d.proj, d.conv]), this.head]) {
      c.filter.dispose();
      c.bias.dispose();
    }
    this.centres.dispose();
  }
}

/** Checks a parsed file against its config: every tensor present with its shape, finite, nothing extra. */
export function checkDetectorFile(file: SafetensorsFile, source: string): DetectorConfig {
  const raw = file.metadata[DETECTOR_METADATA_KEY];
  if (raw === undefined) fail(source, `no '${DETECTOR_METADATA_KEY}' entry in the safetensors metadata (not a landmark detector file?)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    fail(source, `detector config metadata is not valid JSON (${(err as Error).message})`);
  }
  const config = validateDetectorConfig(parsed, source);
  const expected = expectedDetectorTensors(config);
  for (const [name, shape] of expected) {
    const t = file.tensors.get(name);
    if (!t) fail(source, `missing tensor '${name}' (expected shape [${shape}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(source, `tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) fail(source, `tensor '${name}' holds a non-finite value at index ${i}`);
    }
  }
  for (const name of file.tensors.keys()) {
    if (!expected.has(name)) fail(source, `unexpected tensor '${name}' for this detector config`);
  }
  return config;
}

export function landmarkDetectorFromBytes(bytes: Uint8Array, source = 'detector'): LandmarkDetector {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) fail(source, `corrupt safetensors file: ${err.message}`);
    throw err;
  }
  const config = checkDetectorFile(file, source);
  return new LandmarkDetector(config, (name) => file.tensors.get(name)!, source);
}

/** Loads the landmark detector from a file or a directory holding detector.safetensors (default: the bundled models/landmarks/detector.safetensors). */
export async function loadLandmarkDetector(p: string = defaultDetectorPath()): Promise<LandmarkDetector> {
  let bytes: Uint8Array;
  try {
    // A directory means the detector.safetensors inside it (as the generator loader treats model dirs).
    if ((await stat(p)).isDirectory()) p = path.join(p, DETECTOR_FILE_NAME);
    bytes = await readFile(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelLoadError(`landmark detector not found: ${p}`);
    throw new ModelLoadError(`cannot read landmark detector ${p}: ${(err as Error).message}`);
  }
  return landmarkDetectorFromBytes(bytes, p);
}

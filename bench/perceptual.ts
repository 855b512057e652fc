/**
 * A perceptual distance from the project's own networks: "detector feature distance" (DFD).
 *
 * LPIPS's recipe (Zhang et al. 2018) with the landmark detector's encoder as the backbone and no learned
 * per-channel weights: for each of the encoder's first four stages (enc1..enc4: 64, 32, 16, 8 px grids;
 * 16, 32, 64, 96 channels, after ReLU) the features of both images are unit-normalised over channels per
 * cell, their squared difference is summed over channels, averaged over the cells of the measured region
 * (each cell weighted by the share of its pixels inside the region) and the four stage values are summed.
 * 0 = identical; each stage contributes at most 4. The encoder was trained on the faces domain only (to
 * find landmarks), so this measures change of face structure more than texture; read it beside PSNR/SSIM.
 *
 * The detector keeps its layers private, so the weights are read from its safetensors file here.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { DETECTOR_METADATA_KEY, defaultDetectorPath, parseSafetensors } from '../engine/src/index.js';
import type { Image } from './metrics.js';

interface Stage {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
}

export const DFD_STAGES = 4;

export class DetectorFeatureDistance {
  private readonly stages: Stage[];
  private readonly scale: number;
  private readonly offset: number;

  constructor(detectorPath = defaultDetectorPath()) {
    const file = parseSafetensors(new Uint8Array(readFileSync(detectorPath)));
    const config = JSON.parse(file.metadata[DETECTOR_METADATA_KEY]);
    this.scale = config.normalization.scale;
    this.offset = config.normalization.offset;
    this.stages = (config.encoder as Array<{ name: string; stride: number }>).slice(0, DFD_STAGES).map((l) => {
      const w = file.tensors.get(`${l.name}.weight`)!;
      const [o, i, kh, kw] = w.shape;
      const f = new Float32Array(w.data.length);
      for (let a = 0; a < o; a++)
        for (let b = 0; b < i; b++)
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) f[((y * kw + x) * i + b) * o + a] = w.data[((a * i + b) * kh + y) * kw + x];
      return { filter: tf.tensor4d(f, [kh, kw, i, o]), bias: tf.tensor1d(file.tensors.get(`${l.name}.bias`)!.data), stride: l.stride };
    });
  }

  /** DFD between two RGBA images over a region (1 = measured; default everything). */
  distance(a: Image, b: Image, region?: Uint8Array): number {
    const { width: w, height: h } = a;
    const input = new Float32Array(2 * w * h * 3);
    [a, b].forEach((img, k) => {
      for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) input[(k * w * h + p) * 3 + c] = img.data[4 * p + c] * this.scale + this.offset;
    });
    const weights = new Float32Array(w * h).map((_, i) => (region ? region[i] : 1));
    const perStage = tf.tidy(() => {
      let x = tf.tensor4d(input, [2, h, w, 3]);
      const wmap = tf.tensor4d(weights, [1, h, w, 1]);
      const out: tf.Scalar[] = [];
      for (const s of this.stages) {
        x = tf.fused.conv2d({ x, filter: s.filter, strides: s.stride, pad: 1, bias: s.bias, activation: 'relu' });
        const [, gh, gw] = x.shape;
        const unit = tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), 3, true)), 1e-10));
        const [fa, fb] = tf.split(unit, 2, 0);
        const d = tf.sum(tf.square(tf.sub(fa, fb)), 3, true); // [1, gh, gw, 1]
        const cw = tf.avgPool(wmap, [h / gh, w / gw], [h / gh, w / gw], 'valid'); // region share per cell
        out.push(tf.div(tf.sum(tf.mul(d, cw)), tf.maximum(tf.sum(cw), 1e-12)) as tf.Scalar);
      }
      return tf.stack(out);
    });
    const v = perStage.dataSync();
    perStage.dispose();
    return Array.from(v as Float32Array).reduce((s, x) => s + x, 0);
  }

  dispose(): void {
    for (const s of this.stages) tf.dispose([s.filter, s.bias]);
  }
}

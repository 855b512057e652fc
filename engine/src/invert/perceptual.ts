/**
 * A perceptual loss without downloads for face models: the landmark detector's encoder as the backbone of
 * an LPIPS-like distance (the same construction as the benchmark's DFD, bench/perceptual.ts): for each of the
 * first four encoder stages, features unit-normalised over channels per cell, squared difference summed
 * over channels and averaged over cells; the stages summed. The encoder was trained to find landmarks on the
 * faces domain, so it mostly weighs face structure; the pixel terms still carry colour and texture.
 */
import * as tf from '@tensorflow/tfjs';
import type { LandmarkDetector } from '../landmarks/detector.js';

export const DETECTOR_LOSS_STAGES = 4;

export class DetectorFeatureLoss {
  private readonly targetFeatures: tf.Tensor4D[];

  constructor(
    private readonly detector: LandmarkDetector,
    target: tf.Tensor4D,
  ) {
    this.targetFeatures = tf.tidy(() => this.features(target).map((f) => tf.keep(f)));
  }

  /** Generator image in [-1, 1] -> the detector's normalised input size and range -> unit-normalised stage features. */
  private features(image: tf.Tensor4D): tf.Tensor4D[] {
    const size = this.detector.inputSize;
    const [, h, w] = image.shape;
    // Half-pixel centres off: tfjs's ResizeBilinearGrad implements only that convention.
    const sized = h === size && w === size ? image : tf.image.resizeBilinear(image, [size, size]);
    // Bytes b = v * 127.5 + 128 (imageToRGBA's mapping), then the detector's own b * scale + offset.
    const { scale, offset } = this.detector.config.normalization;
    const input = tf.add(tf.mul(tf.add(tf.mul(sized, 127.5), 128), scale), offset) as tf.Tensor4D;
    return this.detector.encoderFeatures(input, DETECTOR_LOSS_STAGES).map((f) => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), 3, true)), 1e-10)) as tf.Tensor4D);
  }

  loss(image: tf.Tensor4D): tf.Scalar {
    const feats = this.features(image);
    let total: tf.Scalar | undefined;
    feats.forEach((f, i) => {
      const term = tf.mean(tf.sum(tf.squaredDifference(f, this.targetFeatures[i]), 3)) as tf.Scalar;
      total = total ? (tf.add(total, term) as tf.Scalar) : term;
    });
    return total!;
  }

  dispose(): void {
    tf.dispose(this.targetFeatures);
  }
}

/**
 * StyleGAN3 (-T and -R) in TensorFlow.js: the shared mapping network, the Fourier-feature input and the
 * synthesis layers L0..L(num_layers), every layer's output tappable. docs/model-format.md is the
 * specification; tests/engine/stylegan3-parity.test.ts proves it against the official code. Arithmetic is
 * fp32 throughout (the official fp16 layers differ only in precision).
 *
 * Taps are image-aligned: a layer's map carries a margin of (size - rate) / 2 samples outside the image on
 * every side, which is cropped away so the tapped map covers exactly the image (rate x rate samples).
 */
import * as tf from '@tensorflow/tfjs';
import { MappedGenerator } from '../mapped-generator.js';
import type { FeatureLayer, ImageGenerator, ParamSource, SynthesisState } from '../types.js';
import { synthesisGeometry, type StyleGAN3Config } from './config.js';
import { SynthesisInput, SynthesisLayer } from './layers.js';

export class StyleGAN3Generator extends MappedGenerator<StyleGAN3Config> implements ImageGenerator {
  readonly width: number;
  readonly height: number;
  readonly defaultFeatureLayer: number;
  private readonly input: SynthesisInput;
  private readonly layers: SynthesisLayer[];
  private readonly taps: FeatureLayer[];

  constructor(config: StyleGAN3Config, get: ParamSource) {
    super(config, get, config.num_layers + 2);
    this.width = config.img_resolution;
    this.height = config.img_resolution;
    const geometry = synthesisGeometry(config);
    this.input = new SynthesisInput(get, geometry.input);
    this.layers = geometry.layers.map((g) => new SynthesisLayer(get, g, config.conv_clamp));
    this.taps = geometry.layers.map((g) => ({ index: g.index, name: g.name, width: g.outSize - 2 * g.margin, height: g.outSize - 2 * g.margin, channels: g.outChannels }));
    this.defaultFeatureLayer = config.drag_layer;
  }

  featureLayers(): FeatureLayer[] {
    return this.taps.map((l) => ({ ...l }));
  }

  synthesize(ws: tf.Tensor2D, untilLayer: number, state?: SynthesisState, tap?: (index: number, x: tf.Tensor4D) => void): SynthesisState {
    this.assertAlive();
    const style = (i: number) => tf.slice(ws, [i, 0], [1, this.wDim]) as tf.Tensor2D;
    let layer = state?.layer ?? -1;
    let x = state?.x ?? this.input.apply(style(0));
    for (let index = layer + 1; index <= Math.min(untilLayer, this.layers.length - 1); index++) {
      const input = x;
      // One tidy per layer frees its intermediates as it goes (a 256 px forward would otherwise hold GBs).
      x = tf.tidy(() => this.layers[index].apply(input, style(index + 1)));
      layer = index;
      if (tap) {
        const m = this.layers[index].geo.margin;
        const size = this.taps[index].height;
        tap(index, m ? tf.slice(x, [0, m, m, 0], [1, size, size, x.shape[3]]) : x);
      }
    }
    return { x, layer };
  }

  image(ws: tf.Tensor2D, state?: SynthesisState): tf.Tensor4D {
    const s = this.synthesize(ws, this.layers.length - 1, state);
    return this.config.output_scale === 1 ? s.x : tf.mul(s.x, this.config.output_scale);
  }

  protected disposeSynthesis(): void {
    this.input.dispose();
    this.layers.forEach((l) => l.dispose());
  }

}

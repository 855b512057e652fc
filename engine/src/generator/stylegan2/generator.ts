/**
 * StyleGAN2 (StyleGAN2-ADA architecture, skip generator) in TensorFlow.js: mapping and synthesis with every
 * block's features tappable, square or StyleGAN-Human's half-width layout, optionally presented padded to a
 * square as DragGAN renders it. docs/model-format.md is the specification; tests/engine/stylegan2-parity.test.ts
 * proves it against the official code. Arithmetic is fp32 throughout: the official fp16 blocks differ only in
 * precision (their clamping, conv_clamp, is applied to every block either way and is applied here too).
 */
import * as tf from '@tensorflow/tfjs';
import { upsampleFir } from '../../ops/upsample.js';
import type { FeatureLayer, ImageGenerator, ParamSource, SynthesisState } from '../types.js';
import { blockResolutions, blockSize, firstWsIndex, numWs, type StyleGAN2Config } from './config.js';
import { buildBlock, type BlockLayers } from './layers.js';
import { MappedGenerator } from '../mapped-generator.js';
import { presentedSize } from '../../model/image-size.js';

export class StyleGAN2Generator extends MappedGenerator<StyleGAN2Config> implements ImageGenerator {
  readonly width: number;
  readonly height: number;
  readonly defaultFeatureLayer: number;
  /** Whether outputs are padded left and right to a square (non-square models with pad_to_square). */
  private readonly padded: boolean;
  private readonly constInput: tf.Tensor4D;
  private readonly blocks: BlockLayers[];
  private readonly layers: FeatureLayer[];

  constructor(config: StyleGAN2Config, get: ParamSource) {
    super(config, get, numWs(config));
    const size = presentedSize(config);
    this.padded = size.padded;
    this.height = size.height;
    this.width = size.width;
    const c = get('synthesis.b4.const');
    const [ch, ch4, cw4] = c.shape;
    const cells = ch4 * cw4;
    const nhwc = new Float32Array(cells * ch);
    for (let k = 0; k < ch; k++) for (let p = 0; p < cells; p++) nhwc[p * ch + k] = c.data[k * cells + p];
    this.constInput = tf.tensor4d(nhwc, [1, ch4, cw4, ch]);
    const resolutions = blockResolutions(config);
    this.blocks = resolutions.map((r) => buildBlock(get, config, r, firstWsIndex(r)));
    this.layers = resolutions.map((r, index) => {
      const size = blockSize(config, r);
      return { index, name: `b${r}`, height: size.height, width: this.padded ? size.height : size.width, channels: config.channels[String(r)] };
    });
    this.defaultFeatureLayer = resolutions.indexOf(config.drag_block);
  }

  featureLayers(): FeatureLayer[] {
    return this.layers.map((l) => ({ ...l }));
  }

  synthesize(ws: tf.Tensor2D, untilLayer: number, state?: SynthesisState, tap?: (index: number, x: tf.Tensor4D) => void): SynthesisState {
    this.assertAlive();
    let x = state?.x;
    let img = state?.img;
    let layer = state?.layer ?? -1;
    const style = (i: number) => tf.slice(ws, [i, 0], [1, this.wDim]) as tf.Tensor2D;
    for (let index = layer + 1; index <= Math.min(untilLayer, this.blocks.length - 1); index++) {
      const block = this.blocks[index];
      let i = block.wsIndex;
      let h: tf.Tensor4D;
      if (block.conv0) {
        h = block.conv0.apply(x!, style(i++));
        h = block.conv1.apply(h, style(i++));
      } else {
        h = block.conv1.apply(this.constInput, style(i++));
      }
      const rgb = block.torgb.apply(h, style(i));
      // Skip architecture: the image so far is upsampled and this block's RGB added.
      img = img ? (tf.add(upsampleFir(img, false), rgb) as tf.Tensor4D) : rgb;
      x = h;
      layer = index;
      tap?.(index, this.padded ? this.padToSquare(h, 0) : h);
    }
    if (!x) throw new Error(`synthesize ran no layer (untilLayer ${untilLayer})`);
    return { x, img, layer };
  }

  image(ws: tf.Tensor2D, state?: SynthesisState): tf.Tensor4D {
    const s = this.synthesize(ws, this.blocks.length - 1, state);
    // DragGAN pads StyleGAN-Human's image with 1 (white), its background colour.
    return this.padded ? this.padToSquare(s.img!, 1) : s.img!;
  }

  protected disposeSynthesis(): void {
    this.constInput.dispose();
    for (const b of this.blocks) {
      b.conv0?.dispose();
      b.conv1.dispose();
      b.torgb.dispose();
    }
  }

  /** Pads [1, h, w, C] left and right to [1, h, h, C] with `value`, as DragGAN's padding=True does. */
  private padToSquare(t: tf.Tensor4D, value: number): tf.Tensor4D {
    const [, h, w] = t.shape;
    const p = (h - w) / 2;
    return tf.pad(t, [[0, 0], [0, 0], [p, p], [0, 0]], value);
  }

}

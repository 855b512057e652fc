// One DragDiffusion latent step against drag_diffusion_update run on diffusers (training/reference/
// diffusion_drag_reference.py): motion supervision on the last up block's features at half the image, plus
// the mask term on the next DDIM step's latent, differentiated with respect to the latent being optimised,
// at a latent already moved off the start (so the mask term contributes).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  DDIMScheduler,
  DiffusionDragSession,
  loadDDIMConfig,
  resolveDiffusionDragOptions,
  type PointPair,
} from '../../engine/src/index.js';
import { TINY_DIR, nhwc, reference, tinyUNetFixture } from './diffusion-reference.js';
import { relativeError } from './relative-error.js';

const FILE = 'drag-reference.safetensors';
/** The reference supervises the last up block: the second of the tiny UNet's two. */
const REFERENCE_BLOCK = 1;

describe('a diffusion drag step differentiates like DragDiffusion (wasm)', () => {
  const tiny = tinyUNetFixture();

  /** The reference's step: its timestep, points, mask, starting latent and the moved latent it differentiates at. */
  function referenceStep() {
    const h = reference(FILE, 'drag.handles').data;
    const g = reference(FILE, 'drag.targets').data;
    return {
      scheduler: new DDIMScheduler(10, loadDDIMConfig(TINY_DIR)),
      t: reference(FILE, 'drag.t').data[0],
      // The reference's points are in feature pixels (half the 16 px image).
      points: [0, 1].map((i): PointPair => ({ handle: [2 * h[2 * i], 2 * h[2 * i + 1]], target: [2 * g[2 * i], 2 * g[2 * i + 1]] })),
      mask: Uint8Array.from(reference(FILE, 'drag.mask').data, (v) => (v > 0 ? 1 : 0)),
      code0: nhwc(FILE, 'drag.code0'),
      code: nhwc(FILE, 'drag.code'),
    };
  }

  it('loss and gradient with respect to the latent', async () => {
    const { scheduler, t, points, mask, code0, code } = referenceStep();
    const options = resolveDiffusionDragOptions({ method: 'dragdiffusion', lambda: 0.1, rM: 1, featureBlock: REFERENCE_BLOCK });
    const session = new DiffusionDragSession(tiny.unet, scheduler, tiny.context, code0, t, 16, 16, points, mask, options);
    const { state: first, predicted } = await session.step(0);
    predicted.dispose();
    expect(first.handles).toEqual(points.map((p) => p.handle));
    const { value, grad } = tf.valueAndGrad((c: tf.Tensor) => session.lossAt(c as tf.Tensor4D))(code);
    session.releaseScratch();
    const loss = (await value.data())[0];
    const want = reference(FILE, 'drag.grad');
    const got = (await tf.transpose(grad, [0, 3, 1, 2]).data()) as Float32Array;
    const err = relativeError(got, want.data);
    let agree = 0;
    let counted = 0;
    for (let i = 0; i < want.data.length; i++) {
      if (Math.abs(want.data[i]) < 1e-6 * err.scale) continue;
      counted++;
      if (Math.sign(got[i]) === Math.sign(want.data[i])) agree++;
    }
    console.log(`drag step: loss ${loss} (reference ${reference(FILE, 'drag.loss').data[0]}), gradient relative error ${err.relative.toExponential(2)}, signs agree ${agree}/${counted}`);
    expect(Math.abs(loss - reference(FILE, 'drag.loss').data[0]) / loss).toBeLessThan(1e-4);
    expect(agree).toBe(counted);
    expect(err.relative).toBeLessThan(1e-3);
    tf.dispose([code0, code, value, grad]);
    session.dispose();
  }, 120_000);

  it("without a mask, the term holds the whole latent (DragDiffusion's undrawn mask is all zeros)", async () => {
    const { scheduler, t, points, mask, code0, code } = referenceStep();
    const complement = mask.map((v) => 1 - v);
    /** The mask term alone at the moved latent: the loss with lambda 1 less the loss with lambda 0. */
    const term = async (m: Uint8Array | undefined): Promise<number> => {
      const losses: number[] = [];
      for (const lambda of [1, 0]) {
        const session = new DiffusionDragSession(tiny.unet, scheduler, tiny.context, code0, t, 16, 16, points, m, resolveDiffusionDragOptions({ method: 'dragdiffusion', lambda, rM: 1, featureBlock: REFERENCE_BLOCK }));
        (await session.step(0)).predicted.dispose();
        const loss = session.lossAt(code);
        session.releaseScratch();
        losses.push((await loss.data())[0]);
        loss.dispose();
        session.dispose();
      }
      return losses[0] - losses[1];
    };
    const inside = await term(complement);
    const outside = await term(mask);
    const none = await term(undefined);
    const everywhere = await term(new Uint8Array(16 * 16).fill(1));
    expect(inside).toBeGreaterThan(0);
    expect(outside).toBeGreaterThan(0);
    // The weights without a mask are 1 = (1 - mask) + mask: the two halves' terms add up to it.
    expect(Math.abs(none - (inside + outside)) / none).toBeLessThan(1e-4);
    // A mask over everything lets everything change: no term.
    expect(everywhere).toBe(0);
    tf.dispose([code0, code]);
  }, 120_000);
});

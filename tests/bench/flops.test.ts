// Analytic FLOPs of a drag step: the convolutions dominate and match a hand count for faces128.
import { describe, expect, it } from 'vitest';
import { FACES128_CONFIG } from '../../engine/src/index.js';
import { discPointCount, dragStepFlops, synthesisLayerFlops, totalFlops } from '../../bench/flops.js';

const o = { optimizedLayers: 6, featureBlock: 32, handles: 2, discPoints: discPointCount(2), windowPoints: 49, masked: true };

describe('drag step FLOPs', () => {
  it('counts the disc as the engine does (|o| < r1)', () => {
    expect(discPointCount(2)).toBe(9);
    expect(discPointCount(3)).toBe(25);
  });

  it('has the 3x3 conv terms of faces128 up to block 32 (hand count: 2 * 9 * sum ci co r^2)', () => {
    const convs = [
      [256, 256, 4], [256, 256, 8], [256, 256, 8], [256, 128, 16], [128, 128, 16], [128, 64, 32], [64, 64, 32],
    ].reduce((a, [ci, co, r]) => a + 2 * 9 * ci * co * r * r, 0);
    expect(convs).toBe(622_854_144);
    const t = totalFlops(dragStepFlops(FACES128_CONFIG, o));
    // Forward: the convs plus < 2% of modulation, upsampling, activations, ToRGB, loss and tracking.
    expect(t.forward).toBeGreaterThan(convs);
    expect(t.forward).toBeLessThan(convs * 1.02);
    // Backward w.r.t. the latent only (no weight gradients): about one more pass of input-gradient convs.
    expect(t.backward / t.forward).toBeGreaterThan(0.98);
    expect(t.backward / t.forward).toBeLessThan(1.02);
  });

  it('skips style gradients of layers whose style vector is not optimised', () => {
    const a = synthesisLayerFlops(64, 64, 32, false, 256, true, true);
    const b = synthesisLayerFlops(64, 64, 32, false, 256, false, true);
    expect(a.forward).toBe(b.forward);
    expect(a.backward).toBeGreaterThan(b.backward);
    const few = totalFlops(dragStepFlops(FACES128_CONFIG, { ...o, optimizedLayers: 1 }));
    const all = totalFlops(dragStepFlops(FACES128_CONFIG, o));
    expect(few.backward).toBeLessThan(all.backward);
  });
});

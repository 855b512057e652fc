import { describe, expect, it } from 'vitest';
import { numpyRandn } from './random.js';

describe('numpyRandn', () => {
  it('reproduces numpy.random.RandomState(seed).randn', () => {
    // Printed by /usr/bin/python3 -c "import numpy as np; print(np.random.RandomState(7).randn(5))" etc.
    const seven = [1.6905257, -0.46593737, 0.03282016, 0.40751628, -0.78892303];
    numpyRandn(7, 5).forEach((v, i) => expect(v).toBeCloseTo(seven[i], 6));
    const zero = [1.76405235, 0.40015721, 0.97873798];
    numpyRandn(0, 3).forEach((v, i) => expect(v).toBeCloseTo(zero[i], 6));
  });

  it('rejects seeds numpy rejects', () => {
    expect(() => numpyRandn(-1, 1)).toThrow(RangeError);
    expect(() => numpyRandn(2 ** 32, 1)).toThrow(RangeError);
    expect(() => numpyRandn(1.5, 1)).toThrow(RangeError);
  });
});

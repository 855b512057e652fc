/** w_avg and the spread of w, estimated from seeded z samples as the official projector does. */
import type { ImageGenerator } from '../generator/types.js';
import { numpyRandn } from '../random.js';

export interface WStats {
  /** The mean mapped w (wDim values). */
  avg: Float32Array;
  /** sqrt(sum over samples and dims of (w - avg)^2 / samples): one scale for the noise on w. */
  std: number;
}

/** z = numpy RandomState(seed).randn(samples, z_dim), mapped without truncation. */
export function estimateWStats(gen: ImageGenerator, samples: number, seed: number): WStats {
  const zDim = gen.config.z_dim;
  const z = numpyRandn(seed, samples * zDim);
  const ws: Float32Array[] = [];
  const avg = new Float64Array(gen.wDim);
  for (let i = 0; i < samples; i++) {
    const w = gen.mapping(Float32Array.from(z.subarray(i * zDim, (i + 1) * zDim)));
    ws.push(w);
    for (let d = 0; d < w.length; d++) avg[d] += w[d] / samples;
  }
  let ss = 0;
  for (const w of ws) for (let d = 0; d < w.length; d++) ss += (w[d] - avg[d]) ** 2;
  return { avg: Float32Array.from(avg), std: Math.sqrt(ss / samples) };
}

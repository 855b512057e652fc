/**
 * numpy.random.RandomState(seed).randn(n), reimplemented (MT19937 + numpy's legacy polar Gaussian), so a
 * seed names the same latent here as in StyleGAN2/DragGAN's Python scripts and our PyTorch tools.
 */
const N = 624;
const M = 397;

class MersenneTwister {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      // 1812433253 * prev without losing precision: split the multiplier into 16-bit halves.
      this.mt[i] = ((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's 53-bit double in [0, 1). */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

/** Standard normal samples exactly as `numpy.random.RandomState(seed).randn(count)` (seed in [0, 2^32)). */
export function numpyRandn(seed: number, count: number): Float64Array {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const rng = new MersenneTwister(seed);
  const out = new Float64Array(count);
  let spare: number | undefined;
  for (let i = 0; i < count; i++) {
    if (spare !== undefined) {
      out[i] = spare;
      spare = undefined;
      continue;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * rng.nextDouble() - 1;
      x2 = 2 * rng.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    spare = f * x1;
    out[i] = f * x2;
  }
  return out;
}

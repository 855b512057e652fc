// Small deterministic PRNG so a seed maps to the same face on every machine and
// Node version (Math.random is neither seedable nor reproducible).

/** mulberry32: 32-bit state, good enough statistical quality for sampling ~30 params. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Scramble the user seed first: consecutive seeds (0, 1, 2, ...) would otherwise start
 * mulberry32 from neighbouring states and the first draws would be correlated.
 */
export function hashSeed(seed: number): number {
  let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(hashSeed(seed));
  }
  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Triangular-ish bump (mean of two uniforms): keeps most faces typical, some extreme. */
  centered(lo: number, hi: number): number {
    return lo + (hi - lo) * 0.5 * (this.next() + this.next());
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

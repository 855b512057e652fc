/**
 * A worker thread's generators for rooms with their own tuned weights (pivotal tuning, docs/invert.md): the
 * model's base tensors (loaded once per model file version) with a room's compact delta applied
 * (applyPtiWeights). Building one re-reads every tuned tensor and the delta's factors, so they are kept, keyed
 * by the model file's version and the SHA-256 of the weights' bytes: a room's drags and renders (and its forks',
 * which hold the same bytes) reuse one generator. At most `capacity` are kept; one still in use by a job is
 * never disposed, whatever its age.
 */
import { createHash } from 'node:crypto';

type Engine = typeof import('../../engine/src/index.js');
type Generator = import('../../engine/src/index.js').ImageGenerator;
type BaseModel = import('../../engine/src/index.js').BaseModel;

interface Entry {
  gen: Promise<Generator>;
  users: number;
  lastUsed: number;
}

export interface Lease {
  gen: Generator;
  release(): void;
}

export class TunedGenerators {
  private readonly bases = new Map<string, Promise<BaseModel>>();
  private readonly tuned = new Map<string, Entry>();
  private clock = 0;

  constructor(private readonly capacity = 4) {}

  /**
   * The model's base tensors (pivotal tuning starts from them; a tuned generator adds a delta to them).
   * `modelKey` names the file's version, so a replaced file is read again.
   */
  base(engine: Engine, modelKey: string, modelPath: string): Promise<BaseModel> {
    let b = this.bases.get(modelKey);
    if (!b) {
      for (const k of this.bases.keys()) if (k.startsWith(`${modelPath}@`)) this.bases.delete(k);
      b = engine.loadBaseModel(modelPath);
      this.bases.set(modelKey, b);
      b.catch(() => this.bases.delete(modelKey));
    }
    return b;
  }

  /**
   * The generator of `modelKey`'s model with `weights` applied, held until release(). Weights tuned from
   * another model, or corrupt, reject with the engine's PtiWeightsError (nothing is kept for them).
   */
  async acquire(engine: Engine, modelKey: string, modelPath: string, weights: Uint8Array): Promise<Lease> {
    const key = `${modelKey}#${createHash('sha256').update(weights).digest('hex')}`;
    let e = this.tuned.get(key);
    if (!e) {
      const gen = this.base(engine, modelKey, modelPath).then((base) => engine.applyPtiWeights(base, weights));
      e = { gen, users: 0, lastUsed: 0 };
      this.tuned.set(key, e);
      gen.catch(() => this.tuned.get(key) === e && this.tuned.delete(key));
    }
    e.users++;
    e.lastUsed = ++this.clock;
    const entry = e;
    let gen: Generator;
    try {
      gen = await entry.gen;
    } catch (err) {
      entry.users--;
      throw err;
    }
    this.evict();
    let released = false;
    return {
      gen,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        this.evict();
      },
    };
  }

  /** Disposes the least recently used idle generators beyond capacity. */
  private evict(): void {
    if (this.tuned.size <= this.capacity) return;
    const idle = [...this.tuned.entries()].filter(([, e]) => e.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, e] of idle) {
      if (this.tuned.size <= this.capacity) return;
      this.tuned.delete(key);
      void e.gen.then((g) => g.dispose(), () => undefined);
    }
  }

  /** Generators kept now (tests, health). */
  get size(): number {
    return this.tuned.size;
  }
}

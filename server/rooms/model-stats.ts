/**
 * Measured drag step times per model, for the model list. Every drag a worker finishes reports its steps'
 * times (WorkerPool's onDragSteps); they are folded into a running mean per model and stored (ModelStat), so
 * the numbers survive restarts. A model nobody has dragged with yet is measured with a few steps while the
 * workers are idle, unless that is switched off (tests keep it off to stay fast and deterministic).
 */
import type { JobQueue } from '../jobs/job-queue.js';
import type { ModelStatRecord, ModelStatStore } from '../db/model-stat-store.js';
import { DEFAULT_RUN_SETTINGS } from '../../contract/run-settings.js';
import type { ModelRegistry, ResolvedModel } from './model-registry.js';

/** Steps of an idle measurement: enough for a stable mean once the first (warm-up) step is left out. */
export const MEASURE_STEPS = 6;
/** How often an idle pool is looked at for a model to measure. */
export const IDLE_CHECK_MS = 2000;
/** The mean weighs at most this many past steps, so it follows the machine when it gets faster or slower. */
const MAX_WEIGHT_STEPS = 1000;

export class ModelStats {
  private readonly stats = new Map<string, ModelStatRecord>();
  /** `${id}@${identity}` of every model measured (or tried) while idle: a failing model is not retried forever. */
  private readonly tried = new Set<string>();
  private writes: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private measuring = false;

  constructor(
    private readonly store: ModelStatStore,
    private readonly models: ModelRegistry,
    private readonly log: (line: string) => void,
  ) {}

  async load(): Promise<void> {
    for (const rec of await this.store.all()) this.stats.set(rec.modelId, rec);
  }

  /** Mean ms per step of this version of the model, rounded; undefined until measured. */
  stepMs(m: Pick<ResolvedModel, 'id' | 'identity'>): number | undefined {
    const s = this.stats.get(m.id);
    return s && s.identity === m.identity && s.steps > 0 ? Math.round(s.meanStepMs * 10) / 10 : undefined;
  }

  /** A finished drag's per-step times (worker ms). The first step warms the backend up and is left out when others ran. */
  record(modelPath: string, stepMs: number[]): void {
    const m = this.models.byPath(modelPath);
    const counted = stepMs.length > 1 ? stepMs.slice(1) : stepMs;
    if (!m || counted.length === 0 || !counted.every((t) => Number.isFinite(t) && t >= 0)) return;
    const old = this.stats.get(m.id);
    const prior = old && old.identity === m.identity ? old : { steps: 0, meanStepMs: 0 };
    const weight = Math.min(prior.steps, MAX_WEIGHT_STEPS);
    const sum = counted.reduce((a, b) => a + b, 0);
    const rec: ModelStatRecord = {
      modelId: m.id, identity: m.identity, steps: prior.steps + counted.length,
      meanStepMs: (prior.meanStepMs * weight + sum) / (weight + counted.length),
    };
    this.stats.set(m.id, rec);
    // Written in order; a failed write is logged and the number kept in memory (it is an estimate, not a record).
    this.writes = this.writes.then(() => this.store.put(rec)).catch((err) => this.log(`[models] could not store ${m.id}'s step time: ${(err as Error).message}`));
  }

  /** Measures unmeasured models whenever `jobs` reports idle workers; stopped by close(). */
  measureWhenIdle(jobs: JobQueue): void {
    if (!jobs.idle) return;
    this.timer = setInterval(() => {
      if (this.measuring || !jobs.idle?.()) return;
      // A diffusion model's drag starts with LoRA and an inversion: a short measurement says little, and costs minutes.
      const next = this.models.all().find((m) => m.kind === 'gan' && this.stepMs(m) === undefined && !this.tried.has(`${m.id}@${m.identity}`));
      if (!next) return;
      this.tried.add(`${next.id}@${next.identity}`);
      this.measuring = true;
      this.measure(jobs, next)
        .catch((err) => this.log(`[models] measuring ${next.id}'s step time failed: ${(err as Error).message}`))
        .finally(() => (this.measuring = false));
    }, IDLE_CHECK_MS);
    this.timer.unref();
  }

  /** A short drag from seed 0's image; its step times arrive through record() like any run's. */
  private async measure(jobs: JobQueue, m: ResolvedModel): Promise<void> {
    const { latent } = await jobs.render({ modelPath: m.path, seed: 0, format: 'webp' }, { caller: 'step-time measurement' });
    const y = Math.round(m.height / 2);
    const job = jobs.drag(
      {
        modelPath: m.path, latent, points: [{ handle: [Math.round(m.width * 0.4), y], target: [Math.round(m.width * 0.6), y] }],
        settings: { ...DEFAULT_RUN_SETTINGS, maxSteps: MEASURE_STEPS }, stallSteps: MEASURE_STEPS + 1, frameFormat: 'webp', frameQuality: 80,
      },
      { onStep: () => {} },
    );
    // A person's drag does not wait behind a measurement (a step of a large model takes seconds on a CPU).
    const yieldToRuns = setInterval(() => {
      if ((jobs.dragsWaiting?.() ?? 0) > 0) job.cancel();
    }, 100);
    const end = await job.done.finally(() => clearInterval(yieldToRuns));
    if (end.error) throw new Error(end.error.message);
    const ms = this.stepMs(m);
    // Given way before a step was timed: measured again at the next idle moment.
    if (ms === undefined) this.tried.delete(`${m.id}@${m.identity}`);
    else this.log(`[models] ${m.id}: measured ${ms} ms per step`);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.writes;
  }
}

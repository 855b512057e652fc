/** The run settings users edit together (kept in the room's Yjs document), their defaults and bounds. */

export type DragMethodName = 'draggan' | 'stabledrag';
export type LatentSpaceName = 'w' | 'w+';

export interface RunSettings {
  method: DragMethodName;
  /** Adam step size on the latent. */
  lr: number;
  /** Weight of the fixed-region term (only matters with a mask). */
  lambda: number;
  maxSteps: number;
  latentSpace: LatentSpaceName;
}

/** The engine's defaults (engine/src/drag/options.ts), except a step cap that suits a shared room. */
export const DEFAULT_RUN_SETTINGS: RunSettings = {
  method: 'stabledrag',
  lr: 0.002,
  lambda: 20,
  maxSteps: 100,
  latentSpace: 'w+',
};

export const SETTING_BOUNDS = {
  lr: { min: 0.0001, max: 0.1 },
  lambda: { min: 0, max: 1000 },
  maxSteps: { min: 1, max: 1000 },
} as const;

function clamp(v: unknown, lo: number, hi: number, fallback: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fallback;
  const c = Math.min(hi, Math.max(lo, v));
  return integer ? Math.round(c) : c;
}

/** Whatever a peer wrote, the values a run uses are valid. */
export function sanitizeRunSettings(raw: Partial<Record<keyof RunSettings, unknown>>): RunSettings {
  const d = DEFAULT_RUN_SETTINGS;
  return {
    method: raw.method === 'draggan' || raw.method === 'stabledrag' ? raw.method : d.method,
    lr: clamp(raw.lr, SETTING_BOUNDS.lr.min, SETTING_BOUNDS.lr.max, d.lr),
    lambda: clamp(raw.lambda, SETTING_BOUNDS.lambda.min, SETTING_BOUNDS.lambda.max, d.lambda),
    maxSteps: clamp(raw.maxSteps, SETTING_BOUNDS.maxSteps.min, SETTING_BOUNDS.maxSteps.max, d.maxSteps, true),
    latentSpace: raw.latentSpace === 'w' || raw.latentSpace === 'w+' ? raw.latentSpace : d.latentSpace,
  };
}

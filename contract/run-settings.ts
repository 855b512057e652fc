/**
 * The run settings users edit together (kept in the room's Yjs document): the one schema their defaults, bounds
 * and descriptions come from. The document validator (doc-validate.ts), the document's editor (room-doc.ts), the
 * app's settings panel, the server's limits (which may only lower a bound) and the engine's drag options (its
 * defaults for these fields) all read RUN_SETTINGS_SCHEMA; tests/server/settings-schema.test.ts checks they agree.
 *
 * No imports: the app bundles this file and the engine imports it, and neither may pull in the other's code.
 */

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

export type RunSettingKey = keyof RunSettings;

export interface NumberSetting {
  type: 'number';
  default: number;
  min: number;
  max: number;
  integer: boolean;
  /** The settings panel's increment. */
  step: number;
  label: string;
  description: string;
}

export interface ChoiceSetting<T extends string> {
  type: 'choice';
  default: T;
  choices: readonly T[];
  /** What the settings panel shows for each choice, in the order it shows them. */
  options: { readonly [C in T]: { label: string; title?: string } };
  label: string;
  description: string;
}

type SettingSpec<V> = [V] extends [string] ? ChoiceSetting<V & string> : NumberSetting;

export type RunSettingsSchema = { readonly [K in RunSettingKey]: SettingSpec<RunSettings[K]> };

export const RUN_SETTINGS_SCHEMA: RunSettingsSchema = {
  method: {
    type: 'choice',
    default: 'stabledrag',
    choices: ['draggan', 'stabledrag'],
    options: {
      stabledrag: { label: 'StableDrag', title: 'Discriminative tracking + confidence-based latent enhancement' },
      draggan: { label: 'DragGAN', title: 'Nearest-neighbour tracking' },
    },
    label: 'Method',
    description: 'StableDrag (discriminative tracking and confidence-based latent enhancement) or DragGAN (nearest-neighbour tracking)',
  },
  lr: {
    type: 'number', default: 0.002, min: 0.0001, max: 0.1, integer: false, step: 0.0005,
    label: 'Step size (lr)', description: 'Adam step size on the latent',
  },
  lambda: {
    type: 'number', default: 20, min: 0, max: 1000, integer: false, step: 1,
    label: 'Mask weight λ', description: 'weight of the term that keeps the image outside the mask fixed (only matters with a mask)',
  },
  maxSteps: {
    // Below the engine's own default (200, for a lone command-line run): a shared room's worker is busy for every step.
    type: 'number', default: 100, min: 1, max: 1000, integer: true, step: 10,
    label: 'Max steps', description: 'the run stops after this many optimisation steps (the server may cap it lower)',
  },
  latentSpace: {
    type: 'choice', default: 'w+', choices: ['w', 'w+'], options: { w: { label: 'w' }, 'w+': { label: 'w+' } },
    label: 'Latent', description: 'optimise one w for every layer (w) or one per layer (w+)',
  },
};

export const RUN_SETTING_KEYS = Object.keys(RUN_SETTINGS_SCHEMA) as RunSettingKey[];

export function isRunSettingKey(key: string): key is RunSettingKey {
  return Object.hasOwn(RUN_SETTINGS_SCHEMA, key);
}

export const DEFAULT_RUN_SETTINGS: RunSettings = Object.fromEntries(
  RUN_SETTING_KEYS.map((k) => [k, RUN_SETTINGS_SCHEMA[k].default]),
) as unknown as RunSettings;

type NumberKey = { [K in RunSettingKey]: RunSettings[K] extends number ? K : never }[RunSettingKey];

/** The numeric settings' bounds, read from the schema. */
export const SETTING_BOUNDS: { readonly [K in NumberKey]: { min: number; max: number } } = {
  lr: { min: RUN_SETTINGS_SCHEMA.lr.min, max: RUN_SETTINGS_SCHEMA.lr.max },
  lambda: { min: RUN_SETTINGS_SCHEMA.lambda.min, max: RUN_SETTINGS_SCHEMA.lambda.max },
  maxSteps: { min: RUN_SETTINGS_SCHEMA.maxSteps.min, max: RUN_SETTINGS_SCHEMA.maxSteps.max },
};

/**
 * `v` made a valid value of setting `key`: a number clamped to its bounds (rounded when the setting is an
 * integer), a listed choice as it is; undefined for anything else (not a number, not finite, not a choice).
 */
export function coerceSetting<K extends RunSettingKey>(key: K, v: unknown): RunSettings[K] | undefined {
  const spec = RUN_SETTINGS_SCHEMA[key] as NumberSetting | ChoiceSetting<string>;
  if (spec.type === 'choice') return (spec.choices as readonly unknown[]).includes(v) ? (v as RunSettings[K]) : undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  const c = Math.min(spec.max, Math.max(spec.min, v));
  return (spec.integer ? Math.round(c) : c) as RunSettings[K];
}

/**
 * Null when `v` is a valid value of a setting with this spec, else why not, starting with `where` (the key as
 * its source names it). `show` words a value that is not one (the document's validator names Yjs types).
 */
export function settingValueProblem(
  spec: NumberSetting | ChoiceSetting<string>, v: unknown, where: string, show: (v: unknown) => string = (x) => (x === null ? 'null' : typeof x),
): string | null {
  if (spec.type === 'choice') return spec.choices.includes(v as string) ? null : `${where}: expected ${spec.choices.map((c) => `'${c}'`).join(' or ')}, got ${show(v)}`;
  if (typeof v !== 'number') return `${where}: expected a number, got ${show(v)}`;
  if (!Number.isFinite(v)) return `${where}: ${show(v)}`;
  if (v < spec.min || v > spec.max) return `${where}: ${v} is outside [${spec.min}, ${spec.max}]`;
  if (spec.integer && !Number.isInteger(v)) return `${where}: ${v} is not an integer`;
  return null;
}

/** Whatever a peer wrote, the values a run uses are valid: each field coerced, its default where it cannot be. */
export function sanitizeRunSettings(raw: Partial<Record<RunSettingKey, unknown>>): RunSettings {
  const out = {} as Record<RunSettingKey, unknown>;
  for (const k of RUN_SETTING_KEYS) out[k] = coerceSetting(k, raw[k]) ?? RUN_SETTINGS_SCHEMA[k].default;
  return out as unknown as RunSettings;
}

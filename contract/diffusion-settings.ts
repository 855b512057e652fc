/**
 * The diffusion drag's settings (DragDiffusion / StableDrag-Diff): the engine's bounds for every option, and the
 * subset a room edits together (kept in the room document's `diffusion` map, apart from a GAN room's `settings`,
 * so neither kind of room can be given the other's methods). The engine's options (engine/src/diffusion/options.ts)
 * import the bounds and the shared defaults from here; the document validator, the document's editor, the app's
 * settings panel and the server's step limit read DIFFUSION_SETTINGS_SCHEMA.
 *
 * No imports beyond run-settings (itself import-free): the app bundles this file and the engine imports it.
 */
import { settingValueProblem, type ChoiceSetting, type NumberSetting } from './run-settings';

export type DiffusionDragMethod = 'dragdiffusion' | 'stabledrag-diff';
export const DIFFUSION_DRAG_METHODS: readonly DiffusionDragMethod[] = ['dragdiffusion', 'stabledrag-diff'];

/** [min, max, integer] of each numeric drag option. */
export const DIFFUSION_DRAG_BOUNDS = {
  ddimSteps: [1, 1000, true],
  inversionStrength: [0.01, 1, false],
  featureBlock: [0, 16, true],
  rM: [0, 16, true],
  rP: [1, 32, true],
  lambda: [0, 1e4, false],
  lr: [1e-6, 1, false],
  maxSteps: [0, 10000, true],
  stopDistance: [0, 1e4, false],
  decodeEvery: [1, 10000, true],
  masaLayer: [0, 1000, true],
  enhancementThreshold: [0, 10, false],
} as const;

/** [min, max, integer] of each LoRA option. */
export const LORA_BOUNDS = {
  rank: [1, 256, true],
  lr: [1e-7, 1, false],
  steps: [0, 10000, true],
  batch: [1, 64, true],
  seed: [0, 2 ** 31 - 1, true],
} as const;

/** What a diffusion room's participants set. */
export interface DiffusionSettings {
  method: DiffusionDragMethod;
  lr: number;
  lambda: number;
  maxSteps: number;
  /** LoRA fine-tuning steps on the room's image before the drag (0: none). */
  loraSteps: number;
  ddimSteps: number;
  inversionStrength: number;
  decodeEvery: number;
}

export type DiffusionSettingKey = keyof DiffusionSettings;

type SettingSpec<V> = [V] extends [string] ? ChoiceSetting<V & string> : NumberSetting;
export type DiffusionSettingsSchema = { readonly [K in DiffusionSettingKey]: SettingSpec<DiffusionSettings[K]> };

type Bound = readonly [number, number, boolean];
/** A number setting whose bounds are the engine's (`bound`), narrowed to `cap` where a shared room needs less. */
function numberSetting(bound: Bound, spec: { default: number; step: number; label: string; description: string; cap?: [number, number] }): NumberSetting {
  const [min, max, integer] = bound;
  const [lo, hi] = spec.cap ?? [min, max];
  return { type: 'number', default: spec.default, min: Math.max(min, lo), max: Math.min(max, hi), integer, step: spec.step, label: spec.label, description: spec.description };
}

export const DIFFUSION_SETTINGS_SCHEMA: DiffusionSettingsSchema = {
  method: {
    type: 'choice',
    default: 'stabledrag-diff',
    choices: DIFFUSION_DRAG_METHODS,
    options: {
      'stabledrag-diff': { label: 'StableDrag-Diff', title: 'Discriminative tracking + confidence-based enhancement on the diffusion latent' },
      dragdiffusion: { label: 'DragDiffusion', title: 'Nearest-neighbour (L1) tracking on the diffusion latent' },
    },
    label: 'Method',
    description: 'StableDrag-Diff (discriminative tracking and confidence-based enhancement) or DragDiffusion (nearest-neighbour tracking)',
  },
  lr: numberSetting(DIFFUSION_DRAG_BOUNDS.lr, {
    default: 0.01, step: 0.001, cap: [0.0001, 0.1], label: 'Step size (lr)', description: 'Adam step size on the inverted latent (DragDiffusion: 0.01)',
  }),
  lambda: numberSetting(DIFFUSION_DRAG_BOUNDS.lambda, {
    default: 0.1, step: 0.05, cap: [0, 100], label: 'Mask weight λ', description: 'weight of the term that keeps the latent outside the mask fixed (only matters with a mask)',
  }),
  // A shared worker is busy for every step (and each costs a UNet forward and backward): the room's caps are lower than the engine's.
  maxSteps: numberSetting(DIFFUSION_DRAG_BOUNDS.maxSteps, {
    default: 40, step: 10, cap: [1, 1000], label: 'Max steps', description: 'the drag stops after this many latent updates (the server may cap it lower)',
  }),
  loraSteps: numberSetting(LORA_BOUNDS.steps, {
    default: 20, step: 10, cap: [0, 200], label: 'LoRA steps', description: 'fine-tuning steps on the image before the drag (0: none; DragDiffusion: 80)',
  }),
  ddimSteps: numberSetting(DIFFUSION_DRAG_BOUNDS.ddimSteps, {
    default: 50, step: 5, cap: [1, 100], label: 'DDIM steps', description: 'steps of the whole DDIM schedule (DragDiffusion: 50)',
  }),
  inversionStrength: numberSetting(DIFFUSION_DRAG_BOUNDS.inversionStrength, {
    default: 0.7, step: 0.05, label: 'Inversion strength', description: 'fraction of the schedule inverted before the drag (DragDiffusion: 0.7)',
  }),
  decodeEvery: numberSetting(DIFFUSION_DRAG_BOUNDS.decodeEvery, {
    default: 5, step: 1, cap: [1, 100], label: 'Decode every', description: 'a full VAE decode every this many steps (every step shows a cheap latent preview)',
  }),
};

export const DIFFUSION_SETTING_KEYS = Object.keys(DIFFUSION_SETTINGS_SCHEMA) as DiffusionSettingKey[];

export function isDiffusionSettingKey(key: string): key is DiffusionSettingKey {
  return Object.hasOwn(DIFFUSION_SETTINGS_SCHEMA, key);
}

export const DEFAULT_DIFFUSION_SETTINGS: DiffusionSettings = Object.fromEntries(
  DIFFUSION_SETTING_KEYS.map((k) => [k, DIFFUSION_SETTINGS_SCHEMA[k].default]),
) as unknown as DiffusionSettings;

/** As run-settings' coerceSetting: a clamped number or a listed choice, undefined for anything else. */
export function coerceDiffusionSetting<K extends DiffusionSettingKey>(key: K, v: unknown): DiffusionSettings[K] | undefined {
  const spec = DIFFUSION_SETTINGS_SCHEMA[key] as NumberSetting | ChoiceSetting<string>;
  if (spec.type === 'choice') return (spec.choices as readonly unknown[]).includes(v) ? (v as DiffusionSettings[K]) : undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  const c = Math.min(spec.max, Math.max(spec.min, v));
  return (spec.integer ? Math.round(c) : c) as DiffusionSettings[K];
}

export function sanitizeDiffusionSettings(raw: Partial<Record<DiffusionSettingKey, unknown>>): DiffusionSettings {
  const out = {} as Record<DiffusionSettingKey, unknown>;
  for (const k of DIFFUSION_SETTING_KEYS) out[k] = coerceDiffusionSetting(k, raw[k]) ?? DIFFUSION_SETTINGS_SCHEMA[k].default;
  return out as unknown as DiffusionSettings;
}

/**
 * A model card's `settings` (diffusion-model.json): the room settings a model is known to drag well with, which
 * a new room of that model starts from. Any subset of the room's settings, each within the room's bounds:
 * checked strictly (nothing clamped), since a card is written once by whoever ships the model.
 */
export function checkCardSettings(raw: unknown): { settings: Partial<DiffusionSettings> } | { problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'settings must be an object of room settings' };
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!isDiffusionSettingKey(k)) return { problem: `settings: unknown key "${k.slice(0, 32)}" (one of ${DIFFUSION_SETTING_KEYS.join(', ')})` };
    const bad = settingValueProblem(DIFFUSION_SETTINGS_SCHEMA[k] as NumberSetting | ChoiceSetting<string>, v, `settings.${k}`);
    if (bad) return { problem: bad };
    settings[k] = v;
  }
  return { settings: settings as Partial<DiffusionSettings> };
}

/**
 * A room's own prompt (the drag's text conditioning), kept under this key in the room document's `diffusion` map
 * beside the settings; absent, the model card's prompt is used. CLIP reads at most 77 tokens, so a longer prompt
 * only costs memory: the bound is generous and far below the engine's tokenizer limit.
 */
export const DIFFUSION_PROMPT_KEY = 'prompt';
export const MAX_ROOM_PROMPT_CHARS = 1000;

/** Null for a valid room prompt, else why not. */
export function checkDiffusionPrompt(v: unknown): string | null {
  if (typeof v !== 'string') return `prompt: expected text, got ${v === null ? 'null' : typeof v}`;
  if (v.length > MAX_ROOM_PROMPT_CHARS) return `prompt: ${v.length} characters, at most ${MAX_ROOM_PROMPT_CHARS}`;
  return null;
}

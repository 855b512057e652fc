/**
 * The settings of an inversion (fitting a latent to an uploaded photo): the one schema their defaults, bounds
 * and descriptions come from. The upload route validates a request against it (parseInvertSettings), the app's
 * create-from-photo form reads its fields from it, and the engine's inversion options (engine/src/invert/
 * options.ts) take their learning rates from it; the engine's own bounds contain these.
 *
 * Imports only run-settings.ts (its field types): the app bundles this file and the engine imports it.
 */
import type { ChoiceSetting, NumberSetting } from './run-settings.js';

/**
 * 'auto': the landmark detector's feature loss for face models, pixels only for the others (the engine's
 * detectorLossSuits rule); 'pixel' and 'detector' force one ('detector' is refused for a model it does not suit).
 * 'lpips': pixels plus LPIPS-VGG16 (the engine's 'pixel-multiscale+lpips'), offered only by a server holding its
 * weights (`stabledrag import-lpips`; the models list's `lpips`). Never what 'auto' picks in a room: it is slow.
 */
export type InvertLossChoice = 'auto' | 'pixel' | 'detector' | 'lpips';

/**
 * What a step costs with LPIPS, said wherever it is offered: measured on the wasm backend on a shared 2-core
 * machine (docs/invert.md), VGG16 forward and backward every step.
 */
export const LPIPS_SLOW_NOTE = 'slow on the wasm backend: 6-8 s per step at 128 px (30-36 s at 256 px)';

export interface InvertSettings {
  /** Steps of W projection (one w for every layer). */
  wSteps: number;
  /** Steps of W+ refinement after it (one w per layer). */
  wPlusSteps: number;
  /** Peak learning rates of the two stages (Adam). */
  lr: number;
  wPlusLr: number;
  loss: InvertLossChoice;
  /** Steps of pivotal tuning after W/W+ (the generator's weights fitted around the latent); 0: off. */
  ptiSteps: number;
  /** Its learning rate (Adam, constant). */
  ptiLr: number;
}

export type InvertSettingKey = keyof InvertSettings;

export const INVERT_SETTINGS_SCHEMA: {
  readonly wSteps: NumberSetting;
  readonly wPlusSteps: NumberSetting;
  readonly lr: NumberSetting;
  readonly wPlusLr: NumberSetting;
  readonly loss: ChoiceSetting<InvertLossChoice>;
  readonly ptiSteps: NumberSetting;
  readonly ptiLr: NumberSetting;
} = {
  wSteps: {
    // Below the official projector's 1000 (the engine's own default, for a lone command-line run): at 128 px a
    // step took 0.85 s through the studio on the shared 2-core machine, and a room's run stops at
    // ServerLimits.runSeconds (600 s); 300 + 100 steps fit with room to spare and reach ~34 dB on held-out renders.
    type: 'number', default: 300, min: 0, max: 5000, integer: true, step: 50,
    label: 'W steps', description: 'steps fitting one w shared by every layer (the stable part of the fit)',
  },
  wPlusSteps: {
    type: 'number', default: 100, min: 0, max: 5000, integer: true, step: 50,
    label: 'W+ steps', description: 'steps refining one w per layer after the W stage (more detail, less stable drags); 0 skips it',
  },
  lr: {
    type: 'number', default: 0.1, min: 0.0001, max: 1, integer: false, step: 0.01,
    label: 'W learning rate', description: 'peak Adam step size of the W stage',
  },
  wPlusLr: {
    type: 'number', default: 0.01, min: 0.0001, max: 1, integer: false, step: 0.005,
    label: 'W+ learning rate', description: 'peak Adam step size of the W+ stage (smaller: W+ leaves the model\'s range quickly)',
  },
  loss: {
    type: 'choice', default: 'auto', choices: ['auto', 'pixel', 'detector', 'lpips'],
    options: {
      auto: { label: 'Automatic', title: 'face features for face models, pixels for the others' },
      pixel: { label: 'Pixels', title: 'multi-scale pixel difference' },
      detector: { label: 'Face features', title: 'pixels plus the landmark detector\'s features (face models only)' },
      lpips: { label: 'Pixels + LPIPS', title: `pixels plus LPIPS-VGG16, a learned perceptual distance (any model); ${LPIPS_SLOW_NOTE}` },
    },
    label: 'Loss', description: 'what the fit compares',
  },
  ptiSteps: {
    // Off by default: a tuning step costs two to three W steps' time (docs/benchmarks.md) and the room then stores its own weights
    // (~0.3-0.4 MiB at 128 px). The paper's (and the engine's lone-run) 350 is the form's suggestion when on.
    type: 'number', default: 0, min: 0, max: 5000, integer: true, step: 50,
    label: 'PTI steps', description: 'steps of pivotal tuning: the model\'s weights are fitted to the photo around the found latent, and the room keeps them (0: off)',
  },
  ptiLr: {
    type: 'number', default: 3e-4, min: 0.00001, max: 0.01, integer: false, step: 0.0001,
    label: 'PTI learning rate', description: 'Adam step size of pivotal tuning (constant)',
  },
};

export const INVERT_SETTING_KEYS = Object.keys(INVERT_SETTINGS_SCHEMA) as InvertSettingKey[];

export const DEFAULT_INVERT_SETTINGS: InvertSettings = Object.fromEntries(
  INVERT_SETTING_KEYS.map((k) => [k, INVERT_SETTINGS_SCHEMA[k].default]),
) as unknown as InvertSettings;

/**
 * Model architectures pivotal tuning supports (the engine's trainable generator is StyleGAN2's; it refuses
 * others), so a room asks for it only where it can run.
 */
export const PTI_ARCHITECTURES: readonly string[] = ['stylegan2-ada'];

/**
 * Why the settings cannot run on a model of `architecture` on this server (`lpips`: whether it holds LPIPS's
 * weights), as a sentence, or null when they can.
 */
export function invertSettingsProblem(s: InvertSettings, model: { label: string; architecture: string }, server: { lpips: boolean }): string | null {
  if (s.loss === 'lpips' && !server.lpips) {
    return 'the LPIPS loss needs LPIPS-VGG16\'s weights on the server (models/lpips/lpips-vgg.safetensors, made by `stabledrag import-lpips`); choose another loss';
  }
  if (s.ptiSteps > 0 && !PTI_ARCHITECTURES.includes(model.architecture)) {
    return `pivotal tuning (ptiSteps) supports StyleGAN2 models; ${model.label} is ${model.architecture}: set ptiSteps to 0`;
  }
  return null;
}

/** The request's settings, or the first problem with them as a sentence naming the field. */
export type ParsedInvertSettings = { ok: true; settings: InvertSettings } | { ok: false; message: string };

/**
 * Strict, not clamping: a photo's inversion is asked for once, so a value out of bounds is a mistake worth
 * saying rather than silently changing. Absent fields take their defaults; unknown fields are refused.
 */
export function parseInvertSettings(raw: Partial<Record<string, unknown>>): ParsedInvertSettings {
  const out = { ...DEFAULT_INVERT_SETTINGS } as Record<InvertSettingKey, unknown>;
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(INVERT_SETTINGS_SCHEMA, key)) return { ok: false, message: `unknown inversion setting ${JSON.stringify(key.slice(0, 40))}` };
    const k = key as InvertSettingKey;
    const v = raw[k];
    if (v === undefined) continue;
    const spec = INVERT_SETTINGS_SCHEMA[k] as NumberSetting | ChoiceSetting<string>;
    if (spec.type === 'choice') {
      if (!(spec.choices as readonly unknown[]).includes(v)) return { ok: false, message: `${k} must be one of ${spec.choices.join(', ')}` };
      out[k] = v;
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < spec.min || v > spec.max || (spec.integer && !Number.isInteger(v))) {
      return { ok: false, message: `${k} must be ${spec.integer ? 'a whole number' : 'a number'} in [${spec.min}, ${spec.max}]` };
    }
    out[k] = v;
  }
  const s = out as unknown as InvertSettings;
  if (s.wSteps + s.wPlusSteps === 0) return { ok: false, message: 'wSteps and wPlusSteps are both 0: nothing to run' };
  return { ok: true, settings: s };
}

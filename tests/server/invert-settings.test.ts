/** The inversion settings schema (contract/invert-settings.ts) and its consumers agree. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_INVERT_SETTINGS, INVERT_SETTINGS_SCHEMA, parseInvertSettings } from '../../contract/invert-settings.js';
import { defaultInvertOptions, MAX_INVERT_STEPS } from '../../engine/src/invert/options.js';

describe('inversion settings schema', () => {
  it('gives the engine its learning rates, within the engine bounds', () => {
    const d = defaultInvertOptions();
    expect({ lr: d.lr, wPlusLr: d.wPlusLr }).toEqual({ lr: DEFAULT_INVERT_SETTINGS.lr, wPlusLr: DEFAULT_INVERT_SETTINGS.wPlusLr });
    // A room's step counts lie within what the engine accepts (its own defaults are a lone run's).
    expect(DEFAULT_INVERT_SETTINGS.wSteps).toBeLessThanOrEqual(d.wSteps);
    expect(INVERT_SETTINGS_SCHEMA.wSteps.max).toBeLessThanOrEqual(MAX_INVERT_STEPS);
    expect(INVERT_SETTINGS_SCHEMA.wPlusSteps.max).toBeLessThanOrEqual(MAX_INVERT_STEPS);
    // Pivotal tuning: off unless asked for in a room; its bounds within the engine's (steps 0..10000, lr [1e-7, 1]).
    expect(DEFAULT_INVERT_SETTINGS.ptiSteps).toBe(0);
    expect(INVERT_SETTINGS_SCHEMA.ptiSteps.max).toBeLessThanOrEqual(MAX_INVERT_STEPS);
    expect(INVERT_SETTINGS_SCHEMA.ptiLr.default).toBe(d.ptiLr);
    expect(INVERT_SETTINGS_SCHEMA.ptiLr.min).toBeGreaterThanOrEqual(1e-7);
    expect(INVERT_SETTINGS_SCHEMA.ptiLr.max).toBeLessThanOrEqual(1);
    // The engine accepts learning rates in [1e-6, 10] (options.ts).
    for (const k of ['lr', 'wPlusLr'] as const) {
      expect(INVERT_SETTINGS_SCHEMA[k].min).toBeGreaterThanOrEqual(1e-6);
      expect(INVERT_SETTINGS_SCHEMA[k].max).toBeLessThanOrEqual(10);
    }
    for (const spec of Object.values(INVERT_SETTINGS_SCHEMA)) {
      if (spec.type === 'number') expect(spec.default).toBeGreaterThanOrEqual(spec.min), expect(spec.default).toBeLessThanOrEqual(spec.max);
    }
  });

  it('parses strictly: defaults for absent fields, a sentence naming the field for anything wrong', () => {
    expect(parseInvertSettings({})).toEqual({ ok: true, settings: DEFAULT_INVERT_SETTINGS });
    expect(parseInvertSettings({ wSteps: 20, wPlusSteps: 10, loss: 'pixel' })).toEqual({ ok: true, settings: { ...DEFAULT_INVERT_SETTINGS, wSteps: 20, wPlusSteps: 10, loss: 'pixel' } });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ wSteps: 5001 }, /wSteps must be a whole number in \[0, 5000\]/],
      [{ wSteps: 2.5 }, /wSteps must be a whole number/],
      [{ lr: Number.NaN }, /lr must be a number/],
      [{ lr: '0.1' }, /lr must be a number/],
      [{ loss: 'vgg' }, /loss must be one of auto, pixel, detector, lpips/],
      [{ wSteps: 0, wPlusSteps: 0 }, /both 0/],
      [{ __proto__x: 1 }, /unknown inversion setting/],
    ];
    for (const [raw, message] of bad) {
      const r = parseInvertSettings(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(message);
    }
  });
});

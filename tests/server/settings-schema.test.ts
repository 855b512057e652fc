/**
 * Every consumer of the run settings reads the one schema (contract/run-settings.ts): the app's settings panel
 * (rendered here with React's server renderer), the document validator, the document's editor, the sanitiser a
 * run reads through, the server's limits and the engine's drag options.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { SettingsPanel } from '../../app/_components/SettingsPanel';
import {
  DEFAULT_RUN_SETTINGS, RUN_SETTING_KEYS, RUN_SETTINGS_SCHEMA, SETTING_BOUNDS, sanitizeRunSettings,
  type NumberSetting, type RunSettingKey,
} from '../../contract/run-settings.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import { readSettings, updateSettings } from '../../contract/room-doc.js';
import { DEFAULT_LIMITS, readLimits } from '../../server/limits.js';
import { DRAG_OPTION_BOUNDS, defaultDragOptions, resolveDragOptions } from '../../engine/src/drag/options.js';
import type { ImageGenerator } from '../../engine/src/generator/types.js';

const numberKeys = RUN_SETTING_KEYS.filter((k) => RUN_SETTINGS_SCHEMA[k].type === 'number') as ('lr' | 'lambda' | 'maxSteps')[];
const spec = (k: RunSettingKey) => RUN_SETTINGS_SCHEMA[k] as NumberSetting;

/** The validator's verdict on a document whose settings hold just `key: value`. */
function validates(key: string, value: unknown): boolean {
  const doc = new Y.Doc();
  doc.getMap('settings').set(key, value);
  return validateRoomDoc(doc, 128) === null;
}

/** The fields the engine reads from a generator to make its defaults (no model needed). */
const generator = {
  width: 128, height: 128, numWs: 12,
  featureLayers: () => [{ index: 0, name: 'b32', width: 32, height: 32, channels: 8 }],
  defaultFeatureLayer: 0,
} as unknown as ImageGenerator;

describe('run settings schema', () => {
  it("gives the app's settings panel its bounds, steps, labels and choices", () => {
    const html = renderToStaticMarkup(createElement(SettingsPanel, { settings: DEFAULT_RUN_SETTINGS, locked: false, onChange: () => undefined }));
    const inputs = [...html.matchAll(/<input type="number"[^>]*>/g)].map((m) => m[0]);
    expect(inputs).toHaveLength(numberKeys.length);
    numberKeys.forEach((k, i) => {
      const s = spec(k);
      expect(inputs[i]).toContain(`value="${DEFAULT_RUN_SETTINGS[k]}"`);
      expect(inputs[i]).toContain(`min="${s.min}"`);
      expect(inputs[i]).toContain(`max="${s.max}"`);
      expect(inputs[i]).toContain(`step="${s.step}"`);
      expect(html).toContain(s.label);
    });
    for (const k of ['method', 'latentSpace'] as const) {
      const c = RUN_SETTINGS_SCHEMA[k];
      expect(Object.keys(c.options).sort()).toEqual([...c.choices].sort());
      for (const o of Object.values(c.options) as { label: string }[]) expect(html).toContain(`>${o.label}</button>`);
    }
  });

  it('is what the document validator accepts, exactly up to each bound', () => {
    for (const k of numberKeys) {
      const s = spec(k);
      expect(SETTING_BOUNDS[k]).toEqual({ min: s.min, max: s.max });
      expect(validates(k, s.min) && validates(k, s.max) && validates(k, s.default)).toBe(true);
      expect(validates(k, s.min - 1e-9 * Math.max(1, s.min))).toBe(false);
      expect(validates(k, s.max + 1)).toBe(false);
      // A fraction inside the bounds: valid unless the setting is an integer.
      expect(validates(k, s.integer ? s.min + 0.5 : (s.min + s.max) / 3)).toBe(!s.integer);
    }
    for (const k of ['method', 'latentSpace'] as const) {
      for (const c of RUN_SETTINGS_SCHEMA[k].choices) expect(validates(k, c)).toBe(true);
      expect(validates(k, 'other')).toBe(false);
    }
    expect(validates('temperature', 1)).toBe(false);
  });

  it('is where the document editor clamps and the sanitiser falls back', () => {
    const doc = new Y.Doc();
    expect(readSettings(doc)).toEqual(DEFAULT_RUN_SETTINGS);
    updateSettings(doc, { lr: 1e9, lambda: -5, maxSteps: 1e9 });
    expect(readSettings(doc)).toMatchObject({ lr: spec('lr').max, lambda: spec('lambda').min, maxSteps: spec('maxSteps').max });
    expect(validateRoomDoc(doc, 128)).toBeNull();
    updateSettings(doc, { maxSteps: 12.4 });
    expect(readSettings(doc).maxSteps).toBe(12);
    expect(sanitizeRunSettings({ lr: 'fast', method: 'magic', maxSteps: Infinity })).toEqual(DEFAULT_RUN_SETTINGS);
    for (const k of RUN_SETTING_KEYS) expect(DEFAULT_RUN_SETTINGS[k]).toBe(RUN_SETTINGS_SCHEMA[k].default);
  });

  it("gives the server's step limit its bound, which the environment may lower but not raise", () => {
    expect(DEFAULT_LIMITS.maxSteps).toBe(spec('maxSteps').max);
    expect(readLimits({ STABLEDRAG_LIMIT_MAX_STEPS: '20' }).maxSteps).toBe(20);
    expect(() => readLimits({ STABLEDRAG_LIMIT_MAX_STEPS: String(spec('maxSteps').max + 1) })).toThrow(/STABLEDRAG_LIMIT_MAX_STEPS may lower/);
  });

  it("gives the engine its defaults, and every value a room can hold is one the engine accepts", () => {
    const d = defaultDragOptions(generator);
    expect({ method: d.method, lr: d.lr, lambda: d.lambda, latentSpace: d.latentSpace }).toEqual({
      method: DEFAULT_RUN_SETTINGS.method, lr: DEFAULT_RUN_SETTINGS.lr, lambda: DEFAULT_RUN_SETTINGS.lambda, latentSpace: DEFAULT_RUN_SETTINGS.latentSpace,
    });
    for (const k of numberKeys) {
      expect(spec(k).min).toBeGreaterThanOrEqual(DRAG_OPTION_BOUNDS[k].min);
      expect(spec(k).max).toBeLessThanOrEqual(DRAG_OPTION_BOUNDS[k].max);
      for (const v of [spec(k).min, spec(k).max]) expect(() => resolveDragOptions(generator, { [k]: v })).not.toThrow();
    }
    for (const method of RUN_SETTINGS_SCHEMA.method.choices) expect(resolveDragOptions(generator, { method }).method).toBe(method);
    for (const latentSpace of RUN_SETTINGS_SCHEMA.latentSpace.choices) expect(resolveDragOptions(generator, { latentSpace }).latentSpace).toBe(latentSpace);
  });
});

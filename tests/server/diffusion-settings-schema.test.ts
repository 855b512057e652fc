/**
 * Every consumer of a diffusion room's settings reads the one schema (contract/diffusion-settings.ts): the app's
 * diffusion settings panel (React's server renderer), the document validator (the `diffusion` map), the document's
 * editor and sanitiser, and the engine's diffusion drag options, whose bounds are the contract's and contain every
 * value a room can hold.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { DiffusionSettingsPanel } from '../../app/_components/DiffusionSettingsPanel';
import {
  DEFAULT_DIFFUSION_SETTINGS, DIFFUSION_DRAG_BOUNDS, DIFFUSION_SETTING_KEYS, DIFFUSION_SETTINGS_SCHEMA, LORA_BOUNDS,
  MAX_ROOM_PROMPT_CHARS, type DiffusionSettingKey,
} from '../../contract/diffusion-settings.js';
import type { NumberSetting } from '../../contract/run-settings.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import { readDiffusionPrompt, readDiffusionSettings, setDiffusionPrompt, updateDiffusionSettings } from '../../contract/room-doc.js';
import { MAX_PROMPT_CHARS } from '../../engine/src/diffusion/tokenizer.js';
import {
  DEFAULT_DIFFUSION_DRAG, DIFFUSION_DRAG_BOUNDS as ENGINE_DRAG_BOUNDS, LORA_BOUNDS as ENGINE_LORA_BOUNDS, resolveDiffusionDragOptions,
} from '../../engine/src/diffusion/options.js';

const numberKeys = DIFFUSION_SETTING_KEYS.filter((k) => DIFFUSION_SETTINGS_SCHEMA[k].type === 'number') as Exclude<DiffusionSettingKey, 'method'>[];
const spec = (k: DiffusionSettingKey) => DIFFUSION_SETTINGS_SCHEMA[k] as NumberSetting;

function validates(key: string, value: unknown): boolean {
  const doc = new Y.Doc();
  doc.getMap('diffusion').set(key, value);
  return validateRoomDoc(doc, 128) === null;
}

/** The engine options a room's settings become (as server/jobs/diffusion-drag-job.ts passes them). */
const engineOptions = (s: typeof DEFAULT_DIFFUSION_SETTINGS) => {
  const { loraSteps, ...rest } = s;
  return resolveDiffusionDragOptions({ ...rest, lora: { steps: loraSteps } });
};

describe('diffusion settings schema', () => {
  it("gives the diffusion settings panel its bounds, steps, labels and the two methods", () => {
    const props = { settings: DEFAULT_DIFFUSION_SETTINGS, prompt: undefined, locked: false, onChange: () => undefined, onPrompt: () => undefined };
    const html = renderToStaticMarkup(createElement(DiffusionSettingsPanel, props));
    const inputs = [...html.matchAll(/<input type="number"[^>]*>/g)].map((m) => m[0]);
    expect(inputs).toHaveLength(numberKeys.length);
    numberKeys.forEach((k, i) => {
      const s = spec(k);
      expect(inputs[i]).toContain(`value="${DEFAULT_DIFFUSION_SETTINGS[k]}"`);
      expect(inputs[i]).toContain(`min="${s.min}"`);
      expect(inputs[i]).toContain(`max="${s.max}"`);
      expect(html).toContain(s.label);
    });
    expect(html).toContain('>StableDrag-Diff</button>');
    expect(html).toContain('>DragDiffusion</button>');
    expect(html).not.toContain('>DragGAN</button>');
  });

  it("holds the room's prompt: text up to its bound in the diffusion map, shown in the panel", () => {
    expect(validates('prompt', '')).toBe(true);
    expect(validates('prompt', 'a photo of a cat')).toBe(true);
    expect(validates('prompt', 'x'.repeat(MAX_ROOM_PROMPT_CHARS))).toBe(true);
    expect(validates('prompt', 'x'.repeat(MAX_ROOM_PROMPT_CHARS + 1))).toBe(false);
    for (const bad of [3, null, ['a'], { a: 1 }]) expect(validates('prompt', bad)).toBe(false);
    const doc = new Y.Doc();
    doc.getMap('diffusion').set('prompt', 7);
    expect(validateRoomDoc(doc, 128)).toMatch(/diffusion\.prompt: expected text, got number/);
    // The room's bound is within what the engine's tokenizer takes.
    expect(MAX_ROOM_PROMPT_CHARS).toBeLessThanOrEqual(MAX_PROMPT_CHARS);
    // The editor cuts an over-long prompt to the bound; null goes back to the model card's.
    const edited = new Y.Doc();
    expect(readDiffusionPrompt(edited)).toBeUndefined();
    setDiffusionPrompt(edited, 'y'.repeat(MAX_ROOM_PROMPT_CHARS + 50));
    expect(readDiffusionPrompt(edited)).toHaveLength(MAX_ROOM_PROMPT_CHARS);
    expect(validateRoomDoc(edited, 128)).toBeNull();
    setDiffusionPrompt(edited, null);
    expect(readDiffusionPrompt(edited)).toBeUndefined();
    const html = renderToStaticMarkup(createElement(DiffusionSettingsPanel, {
      settings: DEFAULT_DIFFUSION_SETTINGS, prompt: 'a red fox', locked: false, onChange: () => undefined, onPrompt: () => undefined,
    }));
    expect(html).toMatch(/<textarea[^>]*maxLength="1000"[^>]*data-testid="diffusion-prompt"[^>]*>a red fox<\/textarea>/);
    expect(html).toContain('data-testid="diffusion-prompt-reset"');
  });

  it('is what the validator accepts in the diffusion map, exactly up to each bound', () => {
    for (const k of numberKeys) {
      const s = spec(k);
      expect(validates(k, s.min) && validates(k, s.max) && validates(k, s.default)).toBe(true);
      expect(validates(k, s.max + 1)).toBe(false);
      expect(validates(k, s.min - 1)).toBe(false);
    }
    for (const m of ['stabledrag-diff', 'dragdiffusion']) expect(validates('method', m)).toBe(true);
    for (const m of ['stabledrag', 'draggan', 'other']) expect(validates('method', m)).toBe(false);
    expect(validates('latentSpace', 'w')).toBe(false);
  });

  it('is where the editor clamps and the sanitiser falls back', () => {
    const doc = new Y.Doc();
    expect(readDiffusionSettings(doc)).toEqual(DEFAULT_DIFFUSION_SETTINGS);
    updateDiffusionSettings(doc, { loraSteps: 1e9, lr: -1, method: 'draggan' as never });
    expect(readDiffusionSettings(doc)).toMatchObject({ loraSteps: spec('loraSteps').max, lr: spec('lr').min, method: 'stabledrag-diff' });
    expect(validateRoomDoc(doc, 128)).toBeNull();
  });

  it("is the engine's: the same bounds objects, shared defaults, and every room value a valid engine option", () => {
    expect(ENGINE_DRAG_BOUNDS).toBe(DIFFUSION_DRAG_BOUNDS);
    expect(ENGINE_LORA_BOUNDS).toBe(LORA_BOUNDS);
    for (const k of ['method', 'lr', 'lambda', 'ddimSteps', 'inversionStrength', 'decodeEvery'] as const) expect(DEFAULT_DIFFUSION_DRAG[k]).toBe(DIFFUSION_SETTINGS_SCHEMA[k].default);
    const extremes = numberKeys.flatMap((k) => [{ [k]: spec(k).min }, { [k]: spec(k).max }]);
    for (const patch of extremes) expect(() => engineOptions({ ...DEFAULT_DIFFUSION_SETTINGS, ...patch })).not.toThrow();
    expect(() => engineOptions({ ...DEFAULT_DIFFUSION_SETTINGS, method: 'dragdiffusion' })).not.toThrow();
  });
});

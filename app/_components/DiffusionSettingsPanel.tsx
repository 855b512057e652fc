'use client';
/** A diffusion room's run settings (method picker, drag, LoRA and DDIM): every field's bounds, step and labels come from the schema. */
import { useState } from 'react';
import type { ChoiceSetting, NumberSetting } from '../../contract/run-settings';
import { DIFFUSION_SETTINGS_SCHEMA, type DiffusionDragMethod, type DiffusionSettings } from '../../contract/diffusion-settings';
import { MAX_ROOM_PROMPT_CHARS } from '../../contract/diffusion-settings';
import { NumberField, Panel, Segmented } from './Panels';

type NumberKey = Exclude<keyof DiffusionSettings, 'method'>;
const NUMBER_KEYS: NumberKey[] = ['lr', 'lambda', 'maxSteps', 'loraSteps', 'ddimSteps', 'inversionStrength', 'decodeEvery'];

export function DiffusionSettingsPanel({ settings, prompt, locked, onChange, onPrompt }: {
  settings: DiffusionSettings;
  /** The room's own prompt; undefined: the model card's. */
  prompt: string | undefined;
  locked: boolean;
  onChange(p: Partial<DiffusionSettings>): void;
  /** null: back to the model card's prompt. */
  onPrompt(p: string | null): void;
}) {
  const method = DIFFUSION_SETTINGS_SCHEMA.method as ChoiceSetting<DiffusionDragMethod>;
  return (
    <Panel title="Settings">
      <Segmented
        value={settings.method}
        disabled={locked}
        testId="method-picker"
        onChange={(v) => onChange({ method: v })}
        options={(Object.entries(method.options) as [DiffusionDragMethod, { label: string; title?: string }][]).map(([value, o]) => ({ value, ...o }))}
      />
      <div className="grid2">
        {NUMBER_KEYS.map((key) => {
          const spec: NumberSetting = DIFFUSION_SETTINGS_SCHEMA[key];
          return (
            <NumberField
              key={key} label={spec.label} hint={spec.description} value={settings[key]} min={spec.min} max={spec.max} step={spec.step}
              disabled={locked} onChange={(v) => onChange({ [key]: v })}
            />
          );
        })}
      </div>
      <PromptField prompt={prompt} locked={locked} onPrompt={onPrompt} />
    </Panel>
  );
}

/**
 * The room's prompt, edited locally and shared when the field loses focus (or on Enter): one document update per
 * edit, not per keystroke, and a peer's typing never jumps under the cursor.
 */
function PromptField({ prompt, locked, onPrompt }: { prompt: string | undefined; locked: boolean; onPrompt(p: string | null): void }) {
  const [draft, setDraft] = useState<string | null>(null);
  const shown = draft ?? prompt ?? '';
  const commit = () => {
    if (draft !== null && draft !== (prompt ?? '')) onPrompt(draft);
    setDraft(null);
  };
  return (
    <label className="field">
      <span className="field-label" title="What the image shows: the drag's text conditioning (empty: the model's own prompt)">
        Prompt
      </span>
      <textarea
        rows={2}
        value={shown}
        maxLength={MAX_ROOM_PROMPT_CHARS}
        placeholder="the model's prompt"
        disabled={locked}
        data-testid="diffusion-prompt"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            commit();
          }
        }}
      />
      {prompt !== undefined && (
        <button type="button" className="btn small" disabled={locked} data-testid="diffusion-prompt-reset" onClick={() => onPrompt(null)}>
          Use the model's prompt
        </button>
      )}
    </label>
  );
}

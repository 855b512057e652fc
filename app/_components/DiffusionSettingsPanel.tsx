'use client';
/** A diffusion room's run settings (method picker, drag, LoRA and DDIM): every field's bounds, step and labels come from the schema. */
import type { ChoiceSetting, NumberSetting } from '../../contract/run-settings';
import { DIFFUSION_SETTINGS_SCHEMA, type DiffusionDragMethod, type DiffusionSettings } from '../../contract/diffusion-settings';
import { NumberField, Panel, Segmented } from './Panels';

type NumberKey = Exclude<keyof DiffusionSettings, 'method'>;
const NUMBER_KEYS: NumberKey[] = ['lr', 'lambda', 'maxSteps', 'loraSteps', 'ddimSteps', 'inversionStrength', 'decodeEvery'];

export function DiffusionSettingsPanel({ settings, locked, onChange }: { settings: DiffusionSettings; locked: boolean; onChange(p: Partial<DiffusionSettings>): void }) {
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
    </Panel>
  );
}

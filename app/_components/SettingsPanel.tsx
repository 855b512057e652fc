'use client';
/** The run settings, shared by everyone in the room: every field's bounds, step and labels come from the settings schema. */
import type { ChoiceSetting, NumberSetting, RunSettings } from '../../contract/run-settings';
import { RUN_SETTINGS_SCHEMA } from '../../contract/run-settings';
import { NumberField, Panel, Segmented } from './Panels';

type NumberKey = 'lr' | 'lambda' | 'maxSteps';
type ChoiceKey = 'method' | 'latentSpace';

function choiceOptions<T extends string>(spec: ChoiceSetting<T>): { value: T; label: string; title?: string }[] {
  return (Object.entries(spec.options) as [T, { label: string; title?: string }][]).map(([value, o]) => ({ value, ...o }));
}

export function SettingsPanel({ settings, locked, onChange }: { settings: RunSettings; locked: boolean; onChange(p: Partial<RunSettings>): void }) {
  const numberField = (key: NumberKey) => {
    const spec: NumberSetting = RUN_SETTINGS_SCHEMA[key];
    return (
      <NumberField
        label={spec.label} hint={spec.description} value={settings[key]} min={spec.min} max={spec.max} step={spec.step}
        disabled={locked} onChange={(v) => onChange({ [key]: v })}
      />
    );
  };
  const choice = <K extends ChoiceKey>(key: K) => (
    <Segmented
      testId={key === 'method' ? 'method-picker' : undefined}
      value={settings[key]}
      disabled={locked}
      onChange={(v) => onChange({ [key]: v } as Partial<RunSettings>)}
      options={choiceOptions(RUN_SETTINGS_SCHEMA[key] as ChoiceSetting<RunSettings[K]>)}
    />
  );
  return (
    <Panel title="Settings">
      {choice('method')}
      <div className="grid2">
        {numberField('lr')}
        {numberField('lambda')}
        {numberField('maxSteps')}
        <label className="field">
          <span className="field-label">{RUN_SETTINGS_SCHEMA.latentSpace.label}</span>
          {choice('latentSpace')}
        </label>
      </div>
    </Panel>
  );
}

'use client';
/** The run settings, shared by everyone in the room. */
import type { RunSettings } from '../../contract/run-settings';
import { SETTING_BOUNDS } from '../../contract/run-settings';
import { NumberField, Panel, Segmented } from './Panels';

export function SettingsPanel({ settings, locked, onChange }: { settings: RunSettings; locked: boolean; onChange(p: Partial<RunSettings>): void }) {
  return (
    <Panel title="Settings">
      <Segmented
        value={settings.method}
        disabled={locked}
        onChange={(method) => onChange({ method })}
        options={[
          { value: 'stabledrag', label: 'StableDrag', title: 'Discriminative tracking + confidence-based latent enhancement' },
          { value: 'draggan', label: 'DragGAN', title: 'Nearest-neighbour tracking' },
        ]}
      />
      <div className="grid2">
        <NumberField label="Step size (lr)" value={settings.lr} {...SETTING_BOUNDS.lr} step={0.0005} disabled={locked} onChange={(lr) => onChange({ lr })} />
        <NumberField label="Mask weight λ" value={settings.lambda} {...SETTING_BOUNDS.lambda} step={1} disabled={locked} onChange={(lambda) => onChange({ lambda })} />
        <NumberField label="Max steps" value={settings.maxSteps} {...SETTING_BOUNDS.maxSteps} step={10} disabled={locked} onChange={(maxSteps) => onChange({ maxSteps })} />
        <label className="field">
          <span className="field-label">Latent</span>
          <Segmented
            value={settings.latentSpace}
            disabled={locked}
            onChange={(latentSpace) => onChange({ latentSpace })}
            options={[
              { value: 'w', label: 'w' },
              { value: 'w+', label: 'w+' },
            ]}
          />
        </label>
      </div>
    </Panel>
  );
}

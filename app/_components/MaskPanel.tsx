'use client';
/** Brush settings for the flexible-region mask, and what the mask currently means. */
import type { MaskMode } from '../../contract/mask';
import { Panel, Segmented } from './Panels';

export function MaskPanel(props: {
  strokes: number;
  hasFlexible: boolean;
  /** A diffusion room: with no mask, its drag holds the whole latent near the original (DragDiffusion's term). */
  diffusion: boolean;
  radius: number;
  maxRadius: number;
  mode: MaskMode;
  show: boolean;
  locked: boolean;
  onRadius(r: number): void;
  onMode(m: MaskMode): void;
  onShow(v: boolean): void;
  onClear(): void;
}) {
  const meaning = props.strokes === 0
    ? props.diffusion
      ? 'No mask: the handles pull what they hold; the rest of the image is held near the original.'
      : 'No mask: the whole image may change.'
    : props.hasFlexible
      ? 'Only the bright region may change; the dimmed rest is held fixed.'
      : 'Everything may change except the areas painted fixed.';
  return (
    <Panel
      title="Mask"
      aside={
        <label className="toggle small">
          <input type="checkbox" checked={props.show} onChange={(e) => props.onShow(e.target.checked)} /> Show
        </label>
      }
    >
      <p className="mask-meaning small" data-testid="mask-meaning">{meaning}</p>
      <Segmented
        value={props.mode}
        disabled={props.locked}
        onChange={props.onMode}
        options={[
          { value: 'flexible', label: 'Flexible', title: 'Paint where the image may change' },
          { value: 'fixed', label: 'Fixed', title: 'Paint where it must stay' },
        ]}
      />
      <label className="field inline">
        <span className="field-label">Brush</span>
        <input type="range" min={1} max={props.maxRadius} value={props.radius} disabled={props.locked} onChange={(e) => props.onRadius(Number(e.target.value))} />
        <span className="field-value" title="Brush radius in image pixels">{props.radius} px</span>
      </label>
      <button type="button" className="btn ghost danger" onClick={props.onClear} disabled={props.locked || props.strokes === 0}>
        Clear mask
      </button>
    </Panel>
  );
}

'use client';
/** The list of handle/target pairs with undo and clear. */
import type { PointPairView } from '../../contract/room-doc';
import { Panel } from './Panels';
import { countOf } from '../_lib/plural';

export function PointsPanel(props: { points: PointPairView[]; locked: boolean; onUndo(): void; onClear(): void }) {
  const { points, locked } = props;
  const pairCount = points.filter((p) => p.target).length;
  const fmt = (p: [number, number]) => `${Math.round(p[0])}, ${Math.round(p[1])}`;
  return (
    <Panel title="Points" aside={<span className="muted small">{countOf(pairCount, 'pair')}</span>}>
      {points.length === 0 ? (
        <p className="muted small">Click the image to place a handle (red), click again for its target (blue). Drag a point to move it.</p>
      ) : (
        <ol className="pair-list" data-testid="pair-list">
          {points.map((p, i) => (
            <li key={p.id} className={p.target ? '' : 'open'}>
              <span className="pair-index">{i + 1}</span>
              <span className="chip handle">{fmt(p.handle)}</span>
              <span className="pair-arrow">→</span>
              {p.target ? <span className="chip target">{fmt(p.target)}</span> : <span className="muted small">place target…</span>}
              {p.by && <span className="owner-dot" title={`placed by ${p.by.name}`} style={{ background: p.by.color }} />}
            </li>
          ))}
        </ol>
      )}
      <div className="row">
        <button type="button" className="btn ghost" onClick={props.onUndo} disabled={locked || points.length === 0} data-testid="undo-point">
          Undo last point
        </button>
        <button type="button" className="btn ghost danger" onClick={props.onClear} disabled={locked || points.length === 0}>
          Clear points
        </button>
      </div>
    </Panel>
  );
}

'use client';
/**
 * The room's timeline (issue 5): every run in order, a scrubber over the chosen run's steps, replay at a
 * chosen speed, fork from the step shown, undo and redo drags, downloads, and where the room came from.
 */
import Link from 'next/link';
import type { RoomHistoryView } from '../_lib/use-history';
import { Panel } from './Panels';
import { countOf } from '../_lib/plural';
import { linkForRoom } from '../_lib/recent-rooms';

/** A room of the fork tree: a link when this browser holds one for it (history:list hands out none). */
function LineageLink(props: { roomId: string; title: string }) {
  const token = linkForRoom(props.roomId);
  return token ? <Link href={`/r/${token}`}>{props.title}</Link> : <span title="Ask someone in that room for its link">{props.title}</span>;
}

const SPEEDS = [2, 5, 10, 25];

const MB = 1024 * 1024;

/** The room's stored bytes against its limit; flagged once a run would be refused (at the limit). */
function StorageUse(props: { storage: RoomHistoryView['storage'] }) {
  const s = props.storage;
  if (!s) return null;
  const full = s.usedBytes >= s.limitBytes;
  const title = full
    ? 'This room is at its storage limit: new runs are refused. The timeline is kept; fork a step into a new room to go on.'
    : 'What this room holds on the server (recorded steps, images, tuned weights) against its limit';
  return (
    <span className={`small ${full ? 'error' : 'muted'}`} title={title} data-testid="room-storage">
      {' · '}
      {(s.usedBytes / MB).toFixed(1)} of {(s.limitBytes / MB).toFixed(0)} MB{full ? ' (full)' : ''}
    </span>
  );
}

export function TimelinePanel(props: { history: RoomHistoryView; token: string; canEdit: boolean; busy: boolean; onForked(editToken: string): void }) {
  const { history: h, token } = props;
  const sel = h.selected;
  const run = sel ? h.runs.find((r) => r.runId === sel.runId) : undefined;
  const lastStep = Math.max(0, (run?.recorded ?? 1) - 1);
  const api = `/api/rooms/${token}`;
  const lastDrag = [...h.runs].reverse().find((r) => r.kind === 'drag' && r.recorded > 0);

  return (
    <Panel
      title="Timeline"
      aside={
        <span>
          <span className="muted small">{countOf(h.total, 'entry', 'entries')}</span>
          <StorageUse storage={h.storage} />
        </span>
      }
    >
      {h.lineage?.parent && (
        <p className="small" data-testid="fork-parent">
          Forked from <LineageLink roomId={h.lineage.parent.roomId} title={h.lineage.parent.title} />
          {h.lineage.parent.step !== null && <> at step {h.lineage.parent.step}</>}
        </p>
      )}
      {h.hasOlder && (
        <button type="button" className="btn small" data-testid="timeline-load-older" disabled={h.loadingOlder} onClick={() => void h.loadOlder()}>
          {h.loadingOlder ? 'Loading…' : `Load older (${countOf(h.total - h.runs.length, 'more entry', 'more entries')})`}
        </button>
      )}
      <ol className="timeline-runs" data-testid="timeline-runs">
        {h.runs.map((r) => (
          <li key={r.runId}>
            <button
              type="button"
              className={`btn small ${sel?.runId === r.runId ? 'on' : ''}`}
              disabled={(r.kind !== 'drag' && r.kind !== 'invert') || r.recorded === 0}
              data-testid={`timeline-run-${r.seq}`}
              onClick={() => h.select({ runId: r.runId, step: Math.max(0, r.recorded - 1) })}
            >
              #{r.seq} {r.kind === 'drag' ? `${r.method} · ${countOf(r.steps, 'step')}` : r.kind === 'invert' ? `photo fit · ${countOf(r.steps, 'step')}` : r.kind} · {r.by?.name ?? 'someone'}
              {r.status === 'running' ? ' (running)' : ''}
              {r.endReason === 'interrupted' ? ' (interrupted: the server stopped)' : ''}
            </button>
          </li>
        ))}
      </ol>
      {sel && run && (
        <div className="timeline-scrub">
          <input
            type="range"
            min={0}
            max={lastStep}
            value={sel.step}
            data-testid="timeline-scrubber"
            aria-label="step"
            onChange={(e) => h.select({ runId: sel.runId, step: Number(e.target.value) })}
          />
          <div className="run-buttons">
            <span className="mono small" data-testid="timeline-step">
              step {sel.step} / {lastStep}
            </span>
            {h.viewed && h.viewed.runId === sel.runId && h.viewed.step === sel.step && h.viewed.decoded !== undefined && (
              // A diffusion drag keeps a VAE decode every few steps and a cheap latent preview between them.
              <span
                className="mono small"
                data-testid="timeline-step-kind"
                title={h.viewed.decoded ? 'a VAE decode of this step' : 'a latent preview; a fork from this step decodes its image'}
              >
                {h.viewed.decoded ? 'decoded' : 'preview'}
              </span>
            )}
            <button
              type="button"
              className="btn small"
              data-testid="timeline-play"
              onClick={() => {
                if (!h.playing && sel.step >= lastStep) h.select({ runId: sel.runId, step: 0 });
                h.setPlaying(!h.playing);
              }}
            >
              {h.playing ? '❚❚ Pause' : '▶ Replay'}
            </button>
            <select value={h.speed} onChange={(e) => h.setSpeed(Number(e.target.value))} aria-label="replay speed" data-testid="timeline-speed">
              {SPEEDS.map((s) => (
                <option key={s} value={s}>{s} steps/s</option>
              ))}
            </select>
          </div>
          <div className="run-buttons">
            <button
              type="button"
              className="btn"
              data-testid="timeline-fork"
              onClick={async () => {
                const f = await h.fork();
                if (f) props.onForked(f.editToken);
              }}
            >
              Fork from this step
            </button>
            <button type="button" className="btn small" onClick={() => h.select(null)} data-testid="timeline-now">
              Back to now
            </button>
          </div>
          <p className="small">
            <a href={`${api}/runs/${sel.runId}/steps/${sel.step}/frame.png`} download>Frame PNG</a> ·{' '}
            <a href={`${api}/runs/${sel.runId}/steps/${sel.step}/latent`} download>latent</a> ·{' '}
            <a href={`${api}/runs/${sel.runId}/animation.webp`} download>run WebP</a> ·{' '}
            <a href={`${api}/runs/${sel.runId}/animation.gif`} download>GIF</a>
          </p>
        </div>
      )}
      <div className="run-buttons">
        <button
          type="button"
          className="btn small"
          data-testid="history-undo"
          disabled={!props.canEdit || props.busy || !h.undoRedo.undo}
          title="Return the room to the state before its newest drag (again to go further back)"
          onClick={() => void h.undo()}
        >
          ↶ Undo drag
        </button>
        <button
          type="button"
          className="btn small"
          data-testid="history-redo"
          disabled={!props.canEdit || props.busy || !h.undoRedo.redo}
          title="Re-apply the drag undone last"
          onClick={() => void h.redo()}
        >
          ↷ Redo drag
        </button>
      </div>
      <p className="small muted">
        Now: <a href={`${api}/image`} download>PNG</a> · <a href={`${api}/latent`} download>latent</a> · DragBench{' '}
        <a href={`${api}/dragbench/original.png`} download>image</a>, <a href={`${api}/dragbench/mask.png`} download>mask</a>,{' '}
        <a href={`${api}/dragbench/points.json`} download>points</a>
        {lastDrag && !sel && (
          <> · last run <a href={`${api}/runs/${lastDrag.runId}/animation.webp`} download>WebP</a></>
        )}
      </p>
      {h.lineage && h.lineage.forks.length > 0 && (
        <div className="small" data-testid="fork-children">
          Forks:{' '}
          {h.lineage.forks.map((f, i) => (
            <span key={f.roomId}>
              {i > 0 && ', '}
              <LineageLink roomId={f.roomId} title={f.title} />
            </span>
          ))}
        </div>
      )}
    </Panel>
  );
}

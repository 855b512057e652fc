'use client';
/** Start/Stop, the queue, and live progress with per-handle distance and tracker confidence. */
import type { RunEnded, RunQueueState } from '../../contract/events';
import type { LiveFrame } from '../_lib/use-room-session';
import { Panel } from './Panels';
import { countOf } from '../_lib/plural';

// A reason this build does not know (a newer server during a deploy) still reads as an end, not 'undefined'.
const END_TEXT: Partial<Record<string, string>> & Record<RunEnded['reason'], string> = {
  reached: 'Reached the targets',
  'max-steps': 'Stopped at the step limit',
  stalled: 'Stopped: the handles stopped moving (try a larger flexible area, a lower mask weight λ or a higher step size)',
  cancelled: 'Stopped',
  'time-limit': 'Stopped at the time limit',
  interrupted: 'Interrupted: the worker running it was lost (its steps so far are kept)',
  error: 'Failed',
  done: 'Done',
  'storage-limit': 'Stopped: the room reached its storage limit (its steps so far are kept)',
};

const DIFFUSION_STAGE_TEXT: Partial<Record<string, string>> = {
  lora: 'Fine-tuning LoRA on the image',
  invert: 'DDIM inversion',
  drag: 'Dragging',
  denoise: 'Denoising the result',
};

export function RunPanel(props: {
  queue: RunQueueState | null;
  frame: LiveFrame | null;
  lastEnded: RunEnded | null;
  canEdit: boolean;
  pairs: number;
  onStart(): void;
  onStop(): void;
}) {
  const { queue, frame, lastEnded } = props;
  const current = queue?.current ?? null;
  const busy = current !== null || (queue?.queued.length ?? 0) > 0;
  const liveFrame = frame && current && frame.runId === current.runId ? frame : null;
  const maxSteps = liveFrame?.maxSteps ?? current?.maxSteps ?? 0;
  const step = liveFrame?.step ?? current?.step ?? 0;
  const pct = maxSteps > 0 ? Math.min(100, (step / maxSteps) * 100) : 0;
  let status = 'Idle';
  if (current?.state === 'queued') status = `Waiting for a worker (position ${current.position})`;
  else if (current) status = `Running · started by ${current.by?.name ?? 'someone'}`;
  else if (lastEnded) status = `${END_TEXT[lastEnded.reason] ?? `Ended (${lastEnded.reason})`} after ${countOf(lastEnded.steps, 'step')}${lastEnded.error ? `: ${lastEnded.error.message}` : ''}`;

  return (
    <Panel title="Run">
      <div className="run-buttons">
        <button
          type="button"
          className="btn primary"
          onClick={props.onStart}
          disabled={!props.canEdit || busy || props.pairs === 0}
          data-testid="start-run"
          title={props.pairs === 0 ? 'Place at least one handle and its target' : 'Start dragging'}
        >
          ▶ Start
        </button>
        <button type="button" className="btn stop" onClick={props.onStop} disabled={!props.canEdit || !busy} data-testid="stop-run">
          ■ Stop
        </button>
      </div>
      <div className="progress" aria-label="progress" data-testid="progress">
        <div className={`progress-bar ${current ? 'active' : ''}`} style={{ width: `${current ? pct : lastEnded ? 100 : 0}%` }} />
      </div>
      <div className="progress-meta">
        <span data-testid="run-status">{status}</span>
        {current && (
          <span className="mono" data-testid="step-count">
            step {step} / {maxSteps}
          </span>
        )}
      </div>
      {liveFrame?.inversion && (
        <div className="progress-meta" data-testid="inversion-stage">
          <span>Fitting the photo · {{ w: 'W stage', 'w+': 'W+ stage', pti: 'tuning the model' }[liveFrame.inversion.stage] ?? liveFrame.inversion.stage}</span>
          <span className="mono">loss {liveFrame.inversion.loss.toPrecision(3)}</span>
        </div>
      )}
      {liveFrame?.diffusion && (
        <div className="progress-meta" data-testid="diffusion-stage">
          <span>{DIFFUSION_STAGE_TEXT[liveFrame.diffusion.stage] ?? liveFrame.diffusion.stage}{liveFrame.diffusion.stage === 'drag' ? (liveFrame.diffusion.decoded ? ' · decoded' : ' · preview') : ''}</span>
          <span className="mono">
            {liveFrame.diffusion.stageStep} / {liveFrame.diffusion.stageSteps}
            {liveFrame.diffusion.loss !== undefined ? ` · loss ${liveFrame.diffusion.loss.toPrecision(3)}` : ''}
          </span>
        </div>
      )}
      {queue && queue.queued.length > 0 && (
        <ul className="queue-list">
          {queue.queued.map((q) => (
            <li key={q.runId}>
              #{q.position} queued by {q.by?.name ?? 'someone'}
            </li>
          ))}
        </ul>
      )}
      {liveFrame && liveFrame.distances.length > 0 && (
        <table className="handle-table" data-testid="handle-table">
          <thead>
            <tr>
              <th>#</th>
              <th>distance</th>
              <th>confidence</th>
            </tr>
          </thead>
          <tbody>
            {liveFrame.distances.map((d, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td className="mono">{d.toFixed(1)} px</td>
                <td>
                  <div className="conf">
                    <div className="conf-bar" style={{ width: `${Math.round((liveFrame.confidences[i] ?? 0) * 100)}%` }} />
                    <span className="mono">{(liveFrame.confidences[i] ?? 0).toFixed(2)}</span>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Panel>
  );
}

'use client';
/** Home's "new room" card: model, seed (with a live preview, or random), title. */
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import type { ModelInfo, UnavailableModel } from '../../contract/events';
import { imageUrl } from '../_lib/images';
import { request, type RequestError } from '../_lib/socket';
import { rememberRoom } from '../_lib/recent-rooms';

const randomSeed = () => Math.floor(Math.random() * 100_000);

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
const stepTime = (ms: number | undefined) => (ms === undefined ? 'not measured yet' : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms per step`);

export function CreateRoom() {
  const router = useRouter();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [unavailable, setUnavailable] = useState<UnavailableModel[]>([]);
  const [scanning, setScanning] = useState(false);
  const [model, setModel] = useState('');
  const [seed, setSeed] = useState<number | null>(null);
  const [title, setTitle] = useState('');
  const [preview, setPreview] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const showModels = (list: { models: ModelInfo[]; unavailable: UnavailableModel[] }) => {
    setModels(list.models);
    setUnavailable(list.unavailable);
    setError(list.models.length === 0 ? 'No model is available on this server: put one in the models directory (models/<id>/model.safetensors) and rescan.' : null);
    // A picked model that went away is replaced by the first one still offered. Diffusion models are listed but not
    // picked here: their rooms start from a photo (the photo card), never from a seed.
    const seedable = list.models.filter((x) => x.kind !== 'diffusion');
    setModel((m) => (seedable.some((x) => x.id === m) ? m : seedable[0]?.id || ''));
  };

  useEffect(() => {
    setSeed(randomSeed());
    request('models:list')
      .then(showModels)
      .catch((e) => setError(e.message));
  }, []);

  const rescan = () => {
    setScanning(true);
    request('models:rescan')
      .then(showModels)
      .catch((e: RequestError) => setError(e.message))
      .finally(() => setScanning(false));
  };

  useEffect(() => {
    if (!model || seed === null) return;
    let cancelled = false;
    setLoading(true);
    // Debounced: typing a seed should not queue a render per keystroke.
    const t = setTimeout(() => {
      request('seed:preview', { model, seed })
        .then(({ image }) => {
          if (cancelled) return;
          setPreview((old) => {
            if (old) URL.revokeObjectURL(old);
            return imageUrl(image);
          });
          setError(null);
        })
        .catch((e: RequestError) => {
          if (cancelled) return;
          setError(e.message);
          // A busy server or a spent quota says when to ask again: the preview then comes by itself.
          if (e.retryAfterSeconds) retry = setTimeout(() => !cancelled && setAttempt((n) => n + 1), e.retryAfterSeconds * 1000);
        })
        .finally(() => !cancelled && setLoading(false));
    }, 200);
    let retry: ReturnType<typeof setTimeout> | undefined;
    return () => {
      cancelled = true;
      clearTimeout(t);
      clearTimeout(retry);
    };
  }, [model, seed, attempt]);

  const create = async () => {
    if (!model || seed === null) return;
    setCreating(true);
    try {
      const room = await request('room:create', { title: title.trim(), model, seed });
      rememberRoom({ token: room.editToken, roomId: room.roomId, role: 'edit', title: title.trim() || `Seed ${seed}` });
      router.push(`/r/${room.editToken}`);
    } catch (e) {
      setError((e as Error).message);
      setCreating(false);
    }
  };

  return (
    <section className="card create-card">
      <h2>New room</h2>
      <div className="create-grid">
        <div className={`preview ${loading ? 'loading' : ''}`} data-testid="seed-preview">
          {preview ? <img src={preview} alt={`seed ${seed}`} /> : <div className="preview-empty">rendering…</div>}
        </div>
        <div className="create-form">
          <label className="field">
            <span className="field-label">Title</span>
            <input value={title} placeholder={seed !== null ? `Seed ${seed}` : ''} maxLength={80} onChange={(e) => setTitle(e.target.value)} data-testid="room-title" />
          </label>
          <div className="field">
            <div className="field-head">
              <span className="field-label" id="model-label">Model</span>
              <button type="button" className="btn ghost small" onClick={rescan} disabled={scanning} data-testid="rescan-models">
                {scanning ? 'Scanning…' : 'Rescan models'}
              </button>
            </div>
            <select value={model} onChange={(e) => setModel(e.target.value)} aria-labelledby="model-label" data-testid="model-select">
              {models.filter((m) => m.kind !== 'diffusion').map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label} ({m.width}×{m.height} px)
                </option>
              ))}
            </select>
          </div>
          <ul className="model-list" data-testid="model-list">
            {models.map((m) => (
              <li key={m.id} className={m.id === model ? 'selected' : ''} data-testid={`model-${m.id}`}>
                <span className="model-name">{m.label}</span>
                <span className="muted small">
                  {[m.kind === 'diffusion' ? 'diffusion · photo rooms only' : m.domain, `${m.width}×${m.height}`, megabytes(m.fileBytes), stepTime(m.stepMs)].filter(Boolean).join(' · ')}
                </span>
              </li>
            ))}
            {unavailable.map((u) => (
              <li key={u.id} className="unavailable" data-testid={`unavailable-${u.id}`}>
                <span className="model-name">{u.id}</span>
                <span className="small">unavailable: {u.reason}</span>
              </li>
            ))}
          </ul>
          <label className="field">
            <span className="field-label">Seed</span>
            <div className="seed-row">
              <button type="button" className="btn ghost icon" onClick={() => setSeed((s) => Math.max(0, (s ?? 0) - 1))} aria-label="previous seed">
                ‹
              </button>
              <input type="number" min={0} value={seed ?? ''} onChange={(e) => setSeed(Math.max(0, Math.floor(Number(e.target.value) || 0)))} data-testid="seed-input" />
              <button type="button" className="btn ghost icon" onClick={() => setSeed((s) => (s ?? 0) + 1)} aria-label="next seed">
                ›
              </button>
              <button type="button" className="btn ghost" onClick={() => setSeed(randomSeed())}>
                Random
              </button>
            </div>
          </label>
          {error && <p className="error small">{error}</p>}
          <button type="button" className="btn primary wide" onClick={create} disabled={creating || !model || seed === null} data-testid="create-room">
            {creating ? 'Creating…' : 'Create room'}
          </button>
          <p className="muted small">You get an edit link to share with collaborators and a watch-only link for everyone else.</p>
        </div>
      </div>
    </section>
  );
}

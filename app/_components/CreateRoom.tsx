'use client';
/** Home's "new room" card: model, seed (with a live preview, or random), title. */
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import type { ModelInfo } from '../../server/protocol/events';
import { imageUrl } from '../_lib/images';
import { request, type RequestError } from '../_lib/socket';
import { rememberRoom } from '../_lib/recent-rooms';

const randomSeed = () => Math.floor(Math.random() * 100_000);

export function CreateRoom() {
  const router = useRouter();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [model, setModel] = useState('');
  const [seed, setSeed] = useState<number | null>(null);
  const [title, setTitle] = useState('');
  const [preview, setPreview] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setSeed(randomSeed());
    request('models:list')
      .then(({ models }) => {
        setModels(models);
        if (models.length === 0) setError('No model is installed on this server (models/faces128/model.safetensors is missing).');
        setModel((m) => m || models[0]?.id || '');
      })
      .catch((e) => setError(e.message));
  }, []);

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
          <label className="field">
            <span className="field-label">Model</span>
            <select value={model} onChange={(e) => setModel(e.target.value)}>
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.label} ({m.width}×{m.height} px)
                </option>
              ))}
            </select>
          </label>
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

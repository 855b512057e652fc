'use client';
/**
 * Home's "room from a photo" card: drop, paste or choose a photo, move and zoom a crop locked to the model's
 * aspect ratio, then create the room; everyone in it watches the inversion fit the model to the photo.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import type { ModelInfo } from '../../contract/events';
import { INVERT_SETTINGS_SCHEMA, LPIPS_SLOW_NOTE, PTI_ARCHITECTURES, type InvertLossChoice, type InvertSettings } from '../../contract/invert-settings';
import { PHOTO_LIMITS } from '../../contract/photo-room';
import { request } from '../_lib/socket';
import { rememberRoom } from '../_lib/recent-rooms';
import { cropAt, cropCentre, MAX_ZOOM, zoomFor, type CropRect } from '../_lib/photo-crop';
import { useFaceCrop } from '../_lib/use-face-crop';
import { photoProblem, uploadPhoto } from '../_lib/upload-photo';
import { keepPhotoNotices } from '../_lib/photo-notices';

/** The crop view's longer side on screen, px. */
const VIEW = 360;

interface Photo {
  file: Blob;
  url: string;
  width: number;
  height: number;
}

/** The inversion settings the form offers; the others keep their defaults (INVERT_SETTINGS_SCHEMA). */
type StepKey = 'wSteps' | 'wPlusSteps' | 'ptiSteps';

export function PhotoRoom() {
  const router = useRouter();
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [model, setModel] = useState('');
  const [photo, setPhoto] = useState<Photo | null>(null);
  const [zoom, setZoom] = useState(1);
  const [centre, setCentre] = useState<[number, number]>([0, 0]);
  const [title, setTitle] = useState('');
  const [steps, setSteps] = useState<Pick<InvertSettings, StepKey>>({
    wSteps: INVERT_SETTINGS_SCHEMA.wSteps.default, wPlusSteps: INVERT_SETTINGS_SCHEMA.wPlusSteps.default,
    ptiSteps: INVERT_SETTINGS_SCHEMA.ptiSteps.default,
  });
  const [loss, setLoss] = useState<InvertLossChoice>(INVERT_SETTINGS_SCHEMA.loss.default);
  /** Whether the server holds LPIPS's weights (only then is the 'lpips' loss offered). */
  const [lpips, setLpips] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const drag = useRef<{ x: number; y: number; centre: [number, number] } | null>(null);

  useEffect(() => {
    request('models:list')
      .then((list) => {
        setModels(list.models);
        setLpips(list.lpips);
        // A GAN first: the inversion path is the studio's main one, and its drags are the quicker; a diffusion
        // model is one choice away.
        setModel((m) => m || (list.models.find((x) => x.kind !== 'diffusion') ?? list.models[0])?.id || '');
      })
      .catch((e: Error) => setError(e.message));
  }, []);

  const choose = useCallback((file: File | Blob | null | undefined) => {
    if (!file) return;
    const problem = photoProblem({ size: file.size, type: file.type });
    if (problem) return setError(problem);
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => {
      // The browser shows the photo upright (EXIF orientation), the same frame the server's crop is in.
      const { naturalWidth: width, naturalHeight: height } = img;
      if (width * height > PHOTO_LIMITS.maxPixels) {
        URL.revokeObjectURL(url);
        return setError(`the photo is ${width}x${height}; at most ${PHOTO_LIMITS.maxPixels / 1e6} megapixels is accepted`);
      }
      setPhoto((old) => {
        if (old) URL.revokeObjectURL(old.url);
        return { file, url, width, height };
      });
      setZoom(1);
      setCentre([width / 2, height / 2]);
      setError(null);
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      setError('the file could not be read as an image; use PNG, JPEG or WebP');
    };
    img.src = url;
  }, []);

  // Paste anywhere on the home page.
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const file = Array.from(e.clipboardData?.files ?? []).find((f) => f.type.startsWith('image/'));
      if (file) choose(file);
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [choose]);

  const m = models.find((x) => x.id === model);
  // A faces model's crop starts where the server's landmark search suggests, until the user moves it.
  const suggestion = useFaceCrop(photo?.file ?? null, m);
  const [moved, setMoved] = useState(false);
  useEffect(() => setMoved(false), [photo, model]);
  useEffect(() => {
    if (suggestion?.state !== 'suggested' || !photo || !m || moved) return;
    const s = suggestion.crop;
    setZoom(zoomFor(photo.width, photo.height, m.width / m.height, s.width));
    setCentre(cropCentre(s));
    // Only a new suggestion moves the crop (not a model or photo change alone); the user's moves win after it.
  }, [suggestion]);
  // The upload refuses tuning for other architectures (invertSettingsProblem); the form does not offer it.
  const tunable = !!m && PTI_ARCHITECTURES.includes(m.architecture);
  const crop: CropRect | null = photo && m ? cropAt(photo.width, photo.height, m.width / m.height, zoom, centre[0], centre[1]) : null;
  const scale = photo ? VIEW / Math.max(photo.width, photo.height) : 1;

  const onPointerDown = (e: React.PointerEvent) => {
    if (!crop) return;
    (e.target as Element).setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, centre: cropCentre(crop) };
    setMoved(true);
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d || !photo || !m) return;
    const next = cropAt(photo.width, photo.height, m.width / m.height, zoom, d.centre[0] + (e.clientX - d.x) / scale, d.centre[1] + (e.clientY - d.y) / scale);
    setCentre(cropCentre(next));
  };

  const create = async () => {
    if (!photo || !crop || !model) return;
    setCreating(true);
    setError(null);
    try {
      const room = await uploadPhoto(photo.file, { model, title: title.trim(), crop, settings: { ...steps, ptiSteps: tunable ? steps.ptiSteps : 0, loss } });
      rememberRoom({ token: room.editToken, roomId: room.roomId, role: 'edit', title: title.trim() || 'Photo' });
      keepPhotoNotices(room.editToken, room.notices);
      router.push(`/r/${room.editToken}`);
    } catch (e) {
      setError((e as Error).message);
      setCreating(false);
    }
  };

  const number = (key: StepKey) => {
    const spec = INVERT_SETTINGS_SCHEMA[key];
    const off = key === 'ptiSteps' && !tunable;
    return (
      <label className="field" title={off ? 'pivotal tuning supports StyleGAN2 models only' : spec.description}>
        <span className="field-label">{spec.label}</span>
        <input
          type="number" min={spec.min} max={spec.max} step={spec.step} value={off ? 0 : steps[key]} disabled={off} data-testid={`photo-${key}`}
          onChange={(e) => setSteps((s) => ({ ...s, [key]: Math.min(spec.max, Math.max(spec.min, Math.round(Number(e.target.value) || 0))) }))}
        />
      </label>
    );
  };

  return (
    <section className="card create-card" data-testid="photo-room">
      <h2>Room from a photo</h2>
      <div
        className="photo-drop"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          choose(e.dataTransfer.files[0]);
        }}
      >
        {photo && crop ? (
          <div className="photo-crop" style={{ width: photo.width * scale, height: photo.height * scale }}>
            <img src={photo.url} alt="your photo" draggable={false} />
            <div
              className="photo-crop-rect"
              data-testid="photo-crop-rect"
              style={{ left: crop.left * scale, top: crop.top * scale, width: crop.width * scale, height: crop.height * scale }}
              onPointerDown={onPointerDown}
              onPointerMove={onPointerMove}
              onPointerUp={() => (drag.current = null)}
            >
              {suggestion?.state === 'suggested' && !moved && <span className="photo-crop-label">suggested</span>}
            </div>
          </div>
        ) : (
          <p className="muted">Drop, paste or choose a PNG, JPEG or WebP (up to {PHOTO_LIMITS.maxBytes / (1024 * 1024)} MB).</p>
        )}
        <input type="file" accept={PHOTO_LIMITS.types.join(',')} onChange={(e) => choose(e.target.files?.[0])} data-testid="photo-input" />
      </div>
      {photo && crop && (
        <div className="create-form">
          <label className="field">
            <span className="field-label">Zoom</span>
            <input type="range" min={1} max={MAX_ZOOM} step={0.1} value={zoom} onChange={(e) => {
                setZoom(Number(e.target.value));
                setMoved(true);
              }} data-testid="photo-zoom" />
          </label>
          <p className="muted small mono" data-testid="photo-crop">
            crop {crop.width}×{crop.height} at {crop.left},{crop.top} of {photo.width}×{photo.height}
          </p>
          {suggestion && (
            <p className="muted small" data-testid="photo-crop-suggestion" data-state={suggestion.state}>
              {suggestion.state === 'asking' && 'Looking for a face to suggest a crop…'}
              {suggestion.state === 'suggested' && (moved ? 'Crop moved by you (a face was suggested)' : `Suggested crop: a face found by the landmark detector (confidence ${suggestion.confidence.toFixed(2)}); move it as you like`)}
              {suggestion.state === 'none' && `No face found with confidence (best ${suggestion.confidence.toFixed(2)}): the crop starts centred`}
              {suggestion.state === 'failed' && `No suggested crop: ${suggestion.message}`}
            </p>
          )}
          <label className="field">
            <span className="field-label">Model</span>
            <select value={model} onChange={(e) => setModel(e.target.value)} data-testid="photo-model">
              {models.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.label} ({x.width}×{x.height} px)
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Title</span>
            <input value={title} placeholder="Photo" maxLength={80} onChange={(e) => setTitle(e.target.value)} data-testid="photo-title" />
          </label>
          {m?.kind === 'diffusion' ? null : (
            <>
              <label className="field" title={INVERT_SETTINGS_SCHEMA.loss.description}>
                <span className="field-label">{INVERT_SETTINGS_SCHEMA.loss.label}</span>
                <select value={loss} onChange={(e) => setLoss(e.target.value as InvertLossChoice)} data-testid="photo-loss">
                  {INVERT_SETTINGS_SCHEMA.loss.choices
                    .filter((c) => c !== 'lpips' || lpips)
                    .map((c) => (
                      <option key={c} value={c} title={INVERT_SETTINGS_SCHEMA.loss.options[c].title}>
                        {INVERT_SETTINGS_SCHEMA.loss.options[c].label}
                      </option>
                    ))}
                </select>
              </label>
              {loss === 'lpips' && (
                <p className="muted small" data-testid="photo-lpips-note">
                  LPIPS is {LPIPS_SLOW_NOTE}: fewer steps, or a GPU backend, keep it within the run time limit.
                </p>
              )}
              <div className="photo-steps">
                {number('wSteps')}
                {number('wPlusSteps')}
                {number('ptiSteps')}
              </div>
            </>
          )}
          <button type="button" className="btn primary wide" onClick={create} disabled={creating || !model} data-testid="create-photo-room">
            {creating ? 'Uploading…' : 'Create room'}
          </button>
          <p className="muted small">
            {m?.kind === 'diffusion'
              ? 'A diffusion model drags the photo itself: each drag fine-tunes LoRA on it and inverts it, which everyone watches.'
              : 'Everyone in the room watches the model fit your photo; then drag it like any room.'}
          </p>
        </div>
      )}
      {error && <p className="error small" data-testid="photo-error">{error}</p>}
    </section>
  );
}

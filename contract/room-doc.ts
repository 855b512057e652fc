/**
 * The room's shared Yjs document: what lives where, and the only functions that edit it. Client and
 * server both use these, so the document's shape is defined once.
 *
 *   points   Y.Array<Y.Map>  one map per handle/target pair: id, handle [x,y], target [x,y] | null, by
 *   mask     Y.Array<MaskStroke>  brush strokes, applied in array order (see mask.ts)
 *   settings Y.Map  RunSettings fields (see run-settings.ts): a GAN room's
 *   diffusion Y.Map  DiffusionSettings fields (see diffusion-settings.ts) and the room's own `prompt`: a diffusion room's
 *
 * Runs, images and history are not in the document: a drag is a job, not a CRDT edit.
 *
 * The editing functions keep the document inside DOC_LIMITS (doc-limits.ts), which the server enforces on
 * every update (doc-validate.ts): past a limit they throw a DocLimitError whose message the UI can show, and
 * they clamp what can be clamped (stroke length, brush radius, settings).
 */
import * as Y from 'yjs';
// Imports in contract/ carry no extension: the web app bundles these files too, and its bundler does not map .js to .ts.
import type { Point, PublicUser } from './events';
import { isMaskStroke, type MaskStroke } from './mask';
import { coerceSetting, DEFAULT_RUN_SETTINGS, isRunSettingKey, sanitizeRunSettings, type RunSettings } from './run-settings';
import {
  checkDiffusionPrompt,
  coerceDiffusionSetting,
  DIFFUSION_PROMPT_KEY,
  isDiffusionSettingKey,
  MAX_ROOM_PROMPT_CHARS,
  sanitizeDiffusionSettings,
  type DiffusionSettings,
} from './diffusion-settings';
import { DOC_LIMITS } from './doc-limits';
import { asSize, isKnownSize, type SizeLike } from './image-size';

/** An edit that would take the document past DOC_LIMITS; nothing was changed. The message is for people. */
export class DocLimitError extends Error {
  override name = 'DocLimitError';
}

export interface PointPairView {
  id: string;
  handle: Point;
  target: Point | null;
  by: PublicUser | null;
}

/** Origin used for edits the server makes (handles moved after a run), so observers can tell them apart. */
export const SERVER_ORIGIN = 'stabledrag-server';

export const pointsOf = (doc: Y.Doc) => doc.getArray<Y.Map<unknown>>('points');
export const maskOf = (doc: Y.Doc) => doc.getArray<MaskStroke>('mask');
export const settingsOf = (doc: Y.Doc) => doc.getMap<unknown>('settings');
export const diffusionSettingsOf = (doc: Y.Doc) => doc.getMap<unknown>('diffusion');

function randomId(): string {
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
}

function isPoint(v: unknown): v is Point {
  return Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
}

const short = (s: unknown) => String(s ?? '').slice(0, DOC_LIMITS.maxNameLength);

/** Exactly the fields the document may hold for a user, each cut to maxNameLength. */
function cleanUser(user: PublicUser): PublicUser {
  return { id: short(user.id), name: short(user.name), color: short(user.color) };
}

export function readPoints(doc: Y.Doc): PointPairView[] {
  const out: PointPairView[] = [];
  for (const m of pointsOf(doc).toArray()) {
    if (!(m instanceof Y.Map)) continue;
    const handle = m.get('handle');
    if (!isPoint(handle)) continue;
    const target = m.get('target');
    out.push({ id: String(m.get('id')), handle, target: isPoint(target) ? target : null, by: (m.get('by') as PublicUser) ?? null });
  }
  return out;
}

/** Pairs with both ends: what a run drags (a trailing handle without target is left out, as in DragGAN). */
export function completePairs(doc: Y.Doc): { id: string; handle: Point; target: Point }[] {
  return readPoints(doc).filter((p): p is PointPairView & { target: Point } => p.target !== null);
}

/**
 * A click: completes this user's open pair with a target, or starts a new pair with a handle. Each user has
 * at most one open pair, so two people clicking at once never steal each other's handle.
 */
export function addPoint(doc: Y.Doc, at: Point, user: PublicUser): { id: string; which: 'handle' | 'target' } {
  if (!isPoint(at)) throw new DocLimitError('A point needs finite coordinates.');
  const arr = pointsOf(doc);
  const by = cleanUser(user);
  const open = arr.toArray().find((m) => m instanceof Y.Map && !isPoint(m.get('target')) && (m.get('by') as PublicUser | undefined)?.id === by.id);
  if (open) {
    open.set('target', [at[0], at[1]]);
    return { id: String(open.get('id')), which: 'target' };
  }
  if (arr.length >= DOC_LIMITS.maxPointPairs) {
    throw new DocLimitError(`A room holds at most ${DOC_LIMITS.maxPointPairs} point pairs: remove some to add more.`);
  }
  const m = new Y.Map<unknown>();
  const id = randomId();
  doc.transact(() => {
    m.set('id', id);
    m.set('handle', [at[0], at[1]]);
    m.set('target', null);
    m.set('by', by);
    arr.push([m]);
  });
  return { id, which: 'handle' };
}

export function movePoint(doc: Y.Doc, id: string, which: 'handle' | 'target', to: Point): void {
  if (!isPoint(to)) return;
  const m = pointsOf(doc).toArray().find((x) => x instanceof Y.Map && x.get('id') === id);
  if (m) m.set(which, [to[0], to[1]]);
}

/** Removes the last point placed: the target of the last pair if it has one, else the whole pair. */
export function undoLastPoint(doc: Y.Doc): void {
  const arr = pointsOf(doc);
  if (arr.length === 0) return;
  const last = arr.get(arr.length - 1);
  if (last instanceof Y.Map && isPoint(last.get('target'))) last.set('target', null);
  else arr.delete(arr.length - 1, 1);
}

export function clearPoints(doc: Y.Doc): void {
  const arr = pointsOf(doc);
  if (arr.length > 0) arr.delete(0, arr.length);
}

/** After a run: handles go to where the tracker found them (DragGAN behaviour); targets stay. */
export function moveHandles(doc: Y.Doc, moves: { id: string; handle: Point }[], origin: unknown = SERVER_ORIGIN): void {
  doc.transact(() => {
    for (const mv of moves) movePoint(doc, mv.id, 'handle', mv.handle);
  }, origin);
}

export function readMask(doc: Y.Doc): MaskStroke[] {
  return maskOf(doc).toArray().filter(isMaskStroke);
}

/**
 * Appends a stroke. Non-finite dabs are dropped, the radius is clamped to the brush limits, the dabs are cut to
 * maxStrokeCoords (and to what is left of maxMaskCoords), and with `size` (the image's width x height; a
 * number: square) they are clamped per axis to the image plus the margin the server allows. A full mask throws a DocLimitError.
 */
export function addMaskStroke(doc: Y.Doc, stroke: Omit<MaskStroke, 'id'>, opts: { size?: SizeLike } = {}): string {
  const arr = maskOf(doc);
  if (arr.length >= DOC_LIMITS.maxMaskStrokes) {
    throw new DocLimitError(`The mask holds at most ${DOC_LIMITS.maxMaskStrokes} strokes: clear it to paint more.`);
  }
  let used = 0;
  for (const s of arr.toArray()) used += Array.isArray(s?.points) ? s.points.length : 0;
  const room = Math.min(DOC_LIMITS.maxStrokeCoords, DOC_LIMITS.maxMaskCoords - used);
  const size = opts.size === undefined ? null : asSize(opts.size);
  const margin = DOC_LIMITS.maxBrushRadius;
  const lo = -margin;
  const known = size !== null && isKnownSize(size);
  const hiX = known ? size.width + margin : Infinity;
  const hiY = known ? size.height + margin : Infinity;
  const points: number[] = [];
  for (let i = 0; i + 1 < stroke.points.length && points.length + 2 <= room; i += 2) {
    const x = stroke.points[i];
    const y = stroke.points[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    points.push(Math.min(hiX, Math.max(lo, x)), Math.min(hiY, Math.max(lo, y)));
  }
  if (points.length === 0) {
    if (room < 2) throw new DocLimitError(`The mask holds at most ${DOC_LIMITS.maxMaskCoords.toLocaleString('en')} brush dabs: clear it to paint more.`);
    throw new DocLimitError('A stroke needs at least one dab with finite coordinates.');
  }
  const radius = Number.isFinite(stroke.radius) ? Math.min(DOC_LIMITS.maxBrushRadius, Math.max(DOC_LIMITS.minBrushRadius, stroke.radius)) : DOC_LIMITS.minBrushRadius;
  const id = randomId();
  const s: MaskStroke = { id, mode: stroke.mode === 'fixed' ? 'fixed' : 'flexible', radius, points };
  if (stroke.by !== undefined) s.by = short(stroke.by);
  arr.push([s]);
  return id;
}

export function clearMask(doc: Y.Doc): void {
  const arr = maskOf(doc);
  if (arr.length > 0) arr.delete(0, arr.length);
}

export function readSettings(doc: Y.Doc): RunSettings {
  return sanitizeRunSettings(settingsOf(doc).toJSON() as Partial<RunSettings>);
}

/** Sets the given fields, each coerced by the settings schema (numbers clamped, integers rounded); unknown keys and invalid values skipped. */
export function updateSettings(doc: Y.Doc, patch: Partial<RunSettings>): void {
  const map = settingsOf(doc);
  const clean: [string, unknown][] = [];
  for (const [k, raw] of Object.entries(patch)) {
    const v = isRunSettingKey(k) ? coerceSetting(k, raw) : undefined;
    if (v !== undefined) clean.push([k, v]);
  }
  doc.transact(() => {
    for (const [k, v] of clean) if (map.get(k) !== v) map.set(k, v);
  });
}

export function readDiffusionSettings(doc: Y.Doc): DiffusionSettings {
  return sanitizeDiffusionSettings(diffusionSettingsOf(doc).toJSON() as Partial<DiffusionSettings>);
}

/** As updateSettings, for a diffusion room's settings. */
export function updateDiffusionSettings(doc: Y.Doc, patch: Partial<DiffusionSettings>): void {
  const map = diffusionSettingsOf(doc);
  const clean: [string, unknown][] = [];
  for (const [k, raw] of Object.entries(patch)) {
    const v = isDiffusionSettingKey(k) ? coerceDiffusionSetting(k, raw) : undefined;
    if (v !== undefined) clean.push([k, v]);
  }
  doc.transact(() => {
    for (const [k, v] of clean) if (map.get(k) !== v) map.set(k, v);
  });
}

/** The room's own prompt; undefined when it has none (the model card's applies) or holds something invalid. */
export function readDiffusionPrompt(doc: Y.Doc): string | undefined {
  const v = diffusionSettingsOf(doc).get(DIFFUSION_PROMPT_KEY);
  return checkDiffusionPrompt(v) === null ? (v as string) : undefined;
}

/** Sets the room's prompt (cut to MAX_ROOM_PROMPT_CHARS), or with null removes it so the model card's applies. */
export function setDiffusionPrompt(doc: Y.Doc, prompt: string | null): void {
  const map = diffusionSettingsOf(doc);
  if (prompt === null) {
    if (map.has(DIFFUSION_PROMPT_KEY)) map.delete(DIFFUSION_PROMPT_KEY);
    return;
  }
  const clean = String(prompt).slice(0, MAX_ROOM_PROMPT_CHARS);
  if (map.get(DIFFUSION_PROMPT_KEY) !== clean) map.set(DIFFUSION_PROMPT_KEY, clean);
}

export { DEFAULT_RUN_SETTINGS };

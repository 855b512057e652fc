/**
 * Checks a room document against its shape (room-doc.ts) and DOC_LIMITS. The server runs it on a probe copy
 * of the document with a client's update applied and refuses the update when it returns a reason
 * (rooms/room-doc-hooks.ts); the app's editing functions stay inside the same bounds. Reasons say what and
 * where, e.g. "points[3].handle: x is NaN". Shared by client and server: no Node APIs.
 */
import * as Y from 'yjs';
// Imports in contract/ carry no extension (see room-doc.ts).
import { DOC_LIMITS } from './doc-limits';
import { isMaskStroke } from './mask';
import { isRunSettingKey, RUN_SETTINGS_SCHEMA, settingValueProblem, type ChoiceSetting, type NumberSetting } from './run-settings';
import { checkDiffusionPrompt, DIFFUSION_PROMPT_KEY, DIFFUSION_SETTINGS_SCHEMA, isDiffusionSettingKey } from './diffusion-settings';
import { asSize, isKnownSize, type SizeLike } from './image-size';
import type { ModelKind } from './events';

/** Dab centres may lie this far outside the image (a brush dragged past the edge still paints inside it). */
export const MASK_MARGIN = DOC_LIMITS.maxBrushRadius;

const POINT_KEYS = new Set(['id', 'handle', 'target', 'by']);
const USER_KEYS = new Set(['id', 'name', 'color']);
const STROKE_KEYS = new Set(['id', 'mode', 'radius', 'points', 'by']);

type AnyType = Y.AbstractType<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Item = NonNullable<AnyType['_start']>;

function hasLiveSequence(type: AnyType): boolean {
  for (let n: Item | null = type._start; n !== null; n = n.right) if (!n.deleted) return true;
  return false;
}

function hasLiveEntries(type: AnyType): boolean {
  for (const item of type._map.values()) if (!item.deleted) return true;
  return false;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Y.AbstractType) return `a ${v.constructor.name}`;
  if (v instanceof Y.Doc) return 'a subdocument';
  if (v instanceof Uint8Array) return 'binary';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function shortString(v: unknown, where: string, required: boolean): string | null {
  if (v === undefined && !required) return null;
  if (typeof v !== 'string') return `${where}: expected a string, got ${show(v)}`;
  if (v.length > DOC_LIMITS.maxNameLength) return `${where}: longer than ${DOC_LIMITS.maxNameLength} characters`;
  return null;
}

/** Upper bounds per axis: [width, height] (Infinity when the image size is unknown). */
type Bounds = readonly [x: number, y: number];

/** A coordinate pair inside [lo, hi[axis]] on each axis. */
function checkPoint(v: unknown, where: string, lo: number, hi: Bounds): string | null {
  if (!Array.isArray(v) || v.length !== 2) return `${where}: expected [x, y], got ${show(v)}`;
  for (let i = 0; i < 2; i++) {
    const c = v[i] as unknown;
    const axis = i === 0 ? 'x' : 'y';
    if (typeof c !== 'number') return `${where}: ${axis} is ${show(c)}`;
    if (!Number.isFinite(c)) return `${where}: ${axis} is ${show(c)}`;
    if (c < lo || c > hi[i]) return `${where}: ${axis} = ${c} is outside the image [${lo}, ${hi[i]}]`;
  }
  return null;
}

function checkUser(v: unknown, where: string): string | null {
  if (v === null) return null;
  if (!isPlainObject(v)) return `${where}: expected a user or null, got ${show(v)}`;
  for (const k of Object.keys(v)) if (!USER_KEYS.has(k)) return `${where}: unknown key "${k.slice(0, 32)}"`;
  for (const k of USER_KEYS) {
    const bad = shortString(v[k], `${where}.${k}`, true);
    if (bad) return bad;
  }
  return null;
}

/** Before `doc.getArray(name)`: a root must not hold content of the other kind (that would throw or hide it). */
function rootKind(doc: Y.Doc, name: string, kind: 'array' | 'map'): string | null {
  const type = doc.share.get(name);
  if (!type) return null;
  const isPlaceholder = type.constructor === Y.AbstractType;
  if (kind === 'array' ? !(isPlaceholder || type instanceof Y.Array) || hasLiveEntries(type) : !(isPlaceholder || type instanceof Y.Map) || hasLiveSequence(type)) {
    return `${name}: expected a Y.${kind === 'array' ? 'Array' : 'Map'}`;
  }
  return null;
}

function validatePoints(doc: Y.Doc, hi: Bounds): string | null {
  const arr = doc.getArray<unknown>('points');
  if (arr.length > DOC_LIMITS.maxPointPairs) return `points: ${arr.length} pairs, at most ${DOC_LIMITS.maxPointPairs}`;
  const items = arr.toArray();
  for (let i = 0; i < items.length; i++) {
    const m = items[i];
    const at = `points[${i}]`;
    if (!(m instanceof Y.Map)) return `${at}: expected a Y.Map, got ${show(m)}`;
    for (const k of m.keys()) if (!POINT_KEYS.has(k)) return `${at}: unknown key "${k.slice(0, 32)}"`;
    const badId = shortString(m.get('id'), `${at}.id`, true);
    if (badId) return badId;
    const handle = checkPoint(m.get('handle'), `${at}.handle`, 0, hi);
    if (handle) return handle;
    const target = m.get('target');
    if (target !== null) {
      const bad = checkPoint(target, `${at}.target`, 0, hi);
      if (bad) return bad;
    }
    if (!m.has('by')) return `${at}.by: missing`;
    const by = checkUser(m.get('by'), `${at}.by`);
    if (by) return by;
  }
  return null;
}

function validateMask(doc: Y.Doc, bounds: Bounds): string | null {
  const arr = doc.getArray<unknown>('mask');
  if (arr.length > DOC_LIMITS.maxMaskStrokes) return `mask: ${arr.length} strokes, at most ${DOC_LIMITS.maxMaskStrokes}`;
  const lo = -MASK_MARGIN;
  const his = [bounds[0] + MASK_MARGIN, bounds[1] + MASK_MARGIN];
  let total = 0;
  const items = arr.toArray();
  for (let i = 0; i < items.length; i++) {
    const s = items[i];
    const at = `mask[${i}]`;
    if (!isPlainObject(s)) return `${at}: expected a stroke, got ${show(s)}`;
    for (const k of Object.keys(s)) if (!STROKE_KEYS.has(k)) return `${at}: unknown key "${k.slice(0, 32)}"`;
    const pts = s.points;
    if (Array.isArray(pts) && pts.length > DOC_LIMITS.maxStrokeCoords) return `${at}.points: ${pts.length} coordinates, at most ${DOC_LIMITS.maxStrokeCoords}`;
    if (!isMaskStroke(s)) {
      if (s.mode !== 'flexible' && s.mode !== 'fixed') return `${at}.mode: expected 'flexible' or 'fixed'`;
      if (typeof s.radius !== 'number' || !Number.isFinite(s.radius)) return `${at}.radius: ${show(s.radius)}`;
      if (!Array.isArray(pts)) return `${at}.points: expected an array, got ${show(pts)}`;
      if (pts.length % 2 !== 0) return `${at}.points: odd number of coordinates`;
      const k = Math.max(0, pts.findIndex((c) => typeof c !== 'number' || !Number.isFinite(c)));
      return `${at}.points[${k}]: ${show(pts[k])}`;
    }
    const idBad = shortString(s.id, `${at}.id`, true) ?? shortString(s.by, `${at}.by`, false);
    if (idBad) return idBad;
    if (s.radius < DOC_LIMITS.minBrushRadius || s.radius > DOC_LIMITS.maxBrushRadius) {
      return `${at}.radius: ${s.radius} is outside [${DOC_LIMITS.minBrushRadius}, ${DOC_LIMITS.maxBrushRadius}]`;
    }
    total += s.points.length;
    if (total > DOC_LIMITS.maxMaskCoords) return `mask: more than ${DOC_LIMITS.maxMaskCoords} coordinates in all strokes`;
    for (let k = 0; k < s.points.length; k++) {
      const c = s.points[k];
      const hi = his[k & 1];
      if (c < lo || c > hi) return `${at}.points[${k}]: ${c} is outside [${lo}, ${hi}]`;
    }
  }
  return null;
}

/** A settings map (`root`) checked against its schema: a GAN room's `settings` never holds a diffusion method, nor the reverse. */
function validateSettingsMap(doc: Y.Doc, root: string, isKey: (k: string) => boolean, specOf: (k: string) => NumberSetting | ChoiceSetting<string> | null): string | null {
  const map = doc.getMap<unknown>(root);
  for (const [k, v] of map.entries()) {
    const at = `${root}.${k.slice(0, 32)}`;
    if (!isKey(k)) return `${root}: unknown key "${k.slice(0, 32)}"`;
    const spec = specOf(k);
    // A key checked by its own rule (the diffusion map's prompt).
    if (!spec) continue;
    const bad = settingValueProblem(spec, v, at, show);
    if (bad) return bad;
  }
  return null;
}

const validateSettings = (doc: Y.Doc) =>
  validateSettingsMap(doc, 'settings', isRunSettingKey, (k) => RUN_SETTINGS_SCHEMA[k as keyof typeof RUN_SETTINGS_SCHEMA] as NumberSetting | ChoiceSetting<string>);
/** The diffusion map: its settings by the schema, and the room's prompt (text, bounded) beside them. */
function validateDiffusionSettings(doc: Y.Doc): string | null {
  const map = doc.getMap<unknown>('diffusion');
  if (map.has(DIFFUSION_PROMPT_KEY)) {
    const bad = checkDiffusionPrompt(map.get(DIFFUSION_PROMPT_KEY));
    if (bad) return `diffusion.${bad}`;
  }
  return validateSettingsMap(
    doc, 'diffusion', (k) => k === DIFFUSION_PROMPT_KEY || isDiffusionSettingKey(k),
    (k) => (k === DIFFUSION_PROMPT_KEY ? null : (DIFFUSION_SETTINGS_SCHEMA[k as keyof typeof DIFFUSION_SETTINGS_SCHEMA] as NumberSetting | ChoiceSetting<string>)),
  );
}

/** A room of one model kind holds no settings of the other's (its runs would never read them). */
function otherKindsSettings(doc: Y.Doc, kind: ModelKind): string | null {
  const other = kind === 'diffusion' ? 'settings' : 'diffusion';
  if (!doc.share.has(other) || doc.getMap(other).size === 0) return null;
  return kind === 'diffusion' ? 'settings: a diffusion room keeps its settings in "diffusion"' : 'diffusion: only a diffusion room has diffusion settings';
}

/**
 * Null when `doc` is a valid room document for an image of `size` (width x height; a number: square), else the
 * first problem found. Points must lie in [0, width] x [0, height]; mask dabs within MASK_MARGIN of the image.
 * A size that is not positive leaves coordinates checked only for being finite. With `kind` (the room's model's),
 * the other kind's settings map must be empty. `only` limits the detailed checks
 * to these root types (the ones an update touched; the others are known to be valid already); unknown root
 * types and the roots' kinds are always checked.
 *
 * Root types the document has only as placeholders (decoded from an update, never accessed) are turned into
 * their Y.Array / Y.Map, as `doc.getArray` would do; nothing else about `doc` changes.
 */
export function validateRoomDoc(doc: Y.Doc, size: SizeLike, only?: ReadonlySet<string>, kind?: ModelKind): string | null {
  const s = asSize(size);
  const res: Bounds = isKnownSize(s) ? [s.width, s.height] : [Infinity, Infinity];
  for (const [name, type] of doc.share) {
    if (name === 'points' || name === 'mask' || name === 'settings' || name === 'diffusion') continue;
    if (hasLiveSequence(type) || hasLiveEntries(type)) return `unknown root type "${name.slice(0, 32)}"`;
  }
  const check = (name: string) => !only || only.has(name);
  return (
    rootKind(doc, 'points', 'array') ??
    rootKind(doc, 'mask', 'array') ??
    rootKind(doc, 'settings', 'map') ??
    rootKind(doc, 'diffusion', 'map') ??
    (check('points') ? validatePoints(doc, res) : null) ??
    (check('mask') ? validateMask(doc, res) : null) ??
    (check('settings') ? validateSettings(doc) : null) ??
    (check('diffusion') ? validateDiffusionSettings(doc) : null) ??
    (kind ? otherKindsSettings(doc, kind) : null)
  );
}

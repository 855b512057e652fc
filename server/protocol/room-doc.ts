/**
 * The room's shared Yjs document: what lives where, and the only functions that edit it. Client and
 * server both use these, so the document's shape is defined once.
 *
 *   points   Y.Array<Y.Map>  one map per handle/target pair: id, handle [x,y], target [x,y] | null, by
 *   mask     Y.Array<MaskStroke>  brush strokes, applied in array order (see mask.ts)
 *   settings Y.Map  RunSettings fields (see run-settings.ts)
 *
 * Runs, images and history are not in the document: a drag is a job, not a CRDT edit.
 */
import * as Y from 'yjs';
// Imports in server/protocol carry no extension: the web app bundles these files too, and its bundler does not map .js to .ts.
import type { Point, PublicUser } from './events';
import { isMaskStroke, type MaskStroke } from './mask';
import { DEFAULT_RUN_SETTINGS, sanitizeRunSettings, type RunSettings } from './run-settings';

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

function randomId(): string {
  return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
}

function isPoint(v: unknown): v is Point {
  return Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
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
  const arr = pointsOf(doc);
  const open = arr.toArray().find((m) => m instanceof Y.Map && !isPoint(m.get('target')) && (m.get('by') as PublicUser | undefined)?.id === user.id);
  if (open) {
    open.set('target', at);
    return { id: String(open.get('id')), which: 'target' };
  }
  const m = new Y.Map<unknown>();
  const id = randomId();
  doc.transact(() => {
    m.set('id', id);
    m.set('handle', at);
    m.set('target', null);
    m.set('by', user);
    arr.push([m]);
  });
  return { id, which: 'handle' };
}

export function movePoint(doc: Y.Doc, id: string, which: 'handle' | 'target', to: Point): void {
  const m = pointsOf(doc).toArray().find((x) => x instanceof Y.Map && x.get('id') === id);
  if (m) m.set(which, to);
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

export function addMaskStroke(doc: Y.Doc, stroke: Omit<MaskStroke, 'id'>): string {
  const id = randomId();
  maskOf(doc).push([{ ...stroke, id }]);
  return id;
}

export function clearMask(doc: Y.Doc): void {
  const arr = maskOf(doc);
  if (arr.length > 0) arr.delete(0, arr.length);
}

export function readSettings(doc: Y.Doc): RunSettings {
  return sanitizeRunSettings(settingsOf(doc).toJSON() as Partial<RunSettings>);
}

export function updateSettings(doc: Y.Doc, patch: Partial<RunSettings>): void {
  const map = settingsOf(doc);
  doc.transact(() => {
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) map.set(k, v);
  });
}

export { DEFAULT_RUN_SETTINGS };

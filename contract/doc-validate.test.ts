/** The room document validator (doc-validate.ts) and the editing functions' limits (room-doc.ts), without a server. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DOC_LIMITS } from './doc-limits';
import { validateRoomDoc } from './doc-validate';
import { DocLimitError, addMaskStroke, addPoint, maskOf, movePoint, pointsOf, readMask, readPoints, readSettings, settingsOf, updateSettings } from './room-doc';

const RES = 32;
const ann = { id: 'a', name: 'Ann', color: '#ff0000' };

/** A point map as a hand-made client could write it. */
function rawPair(fields: Record<string, unknown> = {}): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  const all = { id: `p${Math.random().toString(36).slice(2, 8)}`, handle: [1, 2], target: null, by: ann, ...fields };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) m.set(k, v);
  return m;
}

function validDoc(): Y.Doc {
  const doc = new Y.Doc();
  addPoint(doc, [1, 1], ann);
  addPoint(doc, [31, 32], ann);
  addPoint(doc, [0, 0], { id: 'b', name: 'Bob', color: '#0000ff' });
  addMaskStroke(doc, { mode: 'flexible', radius: 4, points: [10, 10, 14, 12] });
  addMaskStroke(doc, { mode: 'fixed', radius: 0.5, points: [-100, 130], by: 'a' });
  updateSettings(doc, { maxSteps: 7, method: 'draggan', lr: 0.005, lambda: 0, latentSpace: 'w' });
  return doc;
}

/** What the server validates: a copy decoded from an update, whose roots are still placeholders. */
function decoded(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

const check = (edit: (doc: Y.Doc) => void, resolution = RES) => {
  const doc = validDoc();
  edit(doc);
  return validateRoomDoc(decoded(doc), resolution);
};

describe('validateRoomDoc', () => {
  it('accepts an empty document and one made by the editing functions, also decoded from an update', () => {
    expect(validateRoomDoc(new Y.Doc(), RES)).toBeNull();
    expect(validateRoomDoc(validDoc(), RES)).toBeNull();
    expect(validateRoomDoc(decoded(validDoc()), RES)).toBeNull();
  });

  it('refuses bad points, saying which and why', () => {
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [Number.NaN, 3] })]))).toBe('points[2].handle: x is NaN');
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [1, Infinity] })]))).toBe('points[2].handle: y is Infinity');
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [33, 3] })]))).toBe('points[2].handle: x = 33 is outside the image [0, 32]');
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [-0.5, 3] })]))).toMatch(/^points\[2\]\.handle: x = -0.5 is outside/);
    expect(check((d) => pointsOf(d).push([rawPair({ handle: ['1', 3] })]))).toBe('points[2].handle: x is string');
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [1, 2, 3] })]))).toMatch(/^points\[2\]\.handle: expected \[x, y\]/);
    expect(check((d) => pointsOf(d).push([rawPair({ target: [5, 99] })]))).toMatch(/^points\[2\]\.target: y = 99/);
    expect(check((d) => pointsOf(d).push([rawPair({ target: undefined })]))).toMatch(/^points\[2\]\.target/);
    expect(check((d) => pointsOf(d).push([rawPair({ id: 7 })]))).toBe('points[2].id: expected a string, got 7');
    expect(check((d) => pointsOf(d).push([rawPair({ extra: 'x'.repeat(10_000) })]))).toBe('points[2]: unknown key "extra"');
    expect(check((d) => pointsOf(d).push([rawPair({ by: { ...ann, name: 'x'.repeat(65) } })]))).toMatch(/^points\[2\]\.by\.name: longer than 64/);
    expect(check((d) => pointsOf(d).push([rawPair({ by: { ...ann, admin: true } })]))).toBe('points[2].by: unknown key "admin"');
    expect(check((d) => pointsOf(d).push([rawPair({ by: null })]))).toBeNull();
    expect(check((d) => pointsOf(d).push([{ handle: [1, 1] } as never]))).toMatch(/^points\[2\]: expected a Y.Map, got object/);
    expect(check((d) => pointsOf(d).push([new Y.Array() as never]))).toMatch(/^points\[2\]: expected a Y.Map/);
    // A nested type where a plain [x, y] belongs.
    expect(check((d) => pointsOf(d).push([rawPair({ handle: Y.Array.from([1, 2]) })]))).toMatch(/^points\[2\]\.handle: expected \[x, y\], got a/);
    // Without a known resolution only finiteness (and x, y >= 0) is checked.
    expect(check((d) => pointsOf(d).push([rawPair({ handle: [1000, 3] })]), 0)).toBeNull();
  });

  it(`refuses more than ${DOC_LIMITS.maxPointPairs} point pairs`, () => {
    const doc = new Y.Doc();
    pointsOf(doc).push(Array.from({ length: DOC_LIMITS.maxPointPairs }, () => rawPair()));
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
    pointsOf(doc).push([rawPair()]);
    expect(validateRoomDoc(decoded(doc), RES)).toBe('points: 33 pairs, at most 32');
  });

  it('refuses bad mask strokes', () => {
    const stroke = (s: Record<string, unknown>) => (d: Y.Doc) => maskOf(d).push([{ id: 's', mode: 'flexible', radius: 2, points: [1, 1], ...s } as never]);
    expect(check(stroke({ radius: 0.4 }))).toBe('mask[2].radius: 0.4 is outside [0.5, 128]');
    expect(check(stroke({ radius: 129 }))).toBe('mask[2].radius: 129 is outside [0.5, 128]');
    expect(check(stroke({ radius: Number.NaN }))).toBe('mask[2].radius: NaN');
    expect(check(stroke({ mode: 'erase' }))).toBe("mask[2].mode: expected 'flexible' or 'fixed'");
    expect(check(stroke({ points: [1, 2, 3] }))).toBe('mask[2].points: odd number of coordinates');
    expect(check(stroke({ points: [1, Number.NaN] }))).toBe('mask[2].points[1]: NaN');
    expect(check(stroke({ points: [1, RES + 129] }))).toBe('mask[2].points[1]: 161 is outside [-128, 160]');
    expect(check(stroke({ points: new Array(4002).fill(1) }))).toBe('mask[2].points: 4002 coordinates, at most 4000');
    expect(check(stroke({ note: 'hi' }))).toBe('mask[2]: unknown key "note"');
    expect(check(stroke({ by: 5 }))).toBe('mask[2].by: expected a string, got 5');
    expect(check(stroke({ id: 'x'.repeat(65) }))).toMatch(/^mask\[2\]\.id: longer than 64/);
    expect(check((d) => maskOf(d).push(['stroke' as never]))).toBe('mask[2]: expected a stroke, got string');
    expect(check((d) => maskOf(d).push([new Y.Map() as never]))).toMatch(/^mask\[2\]: expected a stroke, got a/);
  });

  it('refuses a mask over its stroke or coordinate budget', () => {
    const many = new Y.Doc();
    maskOf(many).push(Array.from({ length: DOC_LIMITS.maxMaskStrokes + 1 }, (_, i) => ({ id: `s${i}`, mode: 'flexible' as const, radius: 1, points: [1, 1] })));
    expect(validateRoomDoc(decoded(many), RES)).toBe('mask: 401 strokes, at most 400');
    const long = new Y.Doc();
    const n = Math.ceil(DOC_LIMITS.maxMaskCoords / DOC_LIMITS.maxStrokeCoords) + 1;
    maskOf(long).push(Array.from({ length: n }, (_, i) => ({ id: `s${i}`, mode: 'flexible' as const, radius: 1, points: new Array(DOC_LIMITS.maxStrokeCoords).fill(3) })));
    expect(validateRoomDoc(decoded(long), RES)).toBe('mask: more than 100000 coordinates in all strokes');
  });

  it('refuses settings of the wrong type, out of bounds or unknown', () => {
    const set = (k: string, v: unknown) => (d: Y.Doc) => settingsOf(d).set(k, v);
    expect(check(set('lr', 'fast'))).toBe('settings.lr: expected a number, got string');
    expect(check(set('lr', Number.NaN))).toBe('settings.lr: NaN');
    expect(check(set('lambda', -Infinity))).toBe('settings.lambda: -Infinity');
    expect(check(set('lr', 1))).toBe('settings.lr: 1 is outside [0.0001, 0.1]');
    expect(check(set('maxSteps', 10.5))).toBe('settings.maxSteps: 10.5 is not an integer');
    expect(check(set('maxSteps', 1e9))).toBe('settings.maxSteps: 1000000000 is outside [1, 1000]');
    expect(check(set('method', 'magic'))).toBe("settings.method: expected 'draggan' or 'stabledrag', got string");
    expect(check(set('latentSpace', null))).toBe("settings.latentSpace: expected 'w' or 'w+', got null");
    expect(check(set('blob', 1))).toBe('settings: unknown key "blob"');
  });

  it('refuses unknown root types with content and roots of the wrong kind', () => {
    expect(check((d) => d.getText('junk').insert(0, 'x'.repeat(1000)))).toBe('unknown root type "junk"');
    expect(check((d) => d.getMap('junk').set('a', 1))).toBe('unknown root type "junk"');
    // Content inserted and deleted again leaves nothing behind.
    expect(check((d) => {
      d.getArray('junk').insert(0, [1, 2, 3]);
      d.getArray('junk').delete(0, 3);
    })).toBeNull();
    const wrongKind = new Y.Doc();
    wrongKind.getMap('points').set('0', 1);
    expect(validateRoomDoc(decoded(wrongKind), RES)).toBe('points: expected a Y.Array');
    const wrongSettings = new Y.Doc();
    wrongSettings.getArray('settings').push([1]);
    expect(validateRoomDoc(decoded(wrongSettings), RES)).toBe('settings: expected a Y.Map');
  });

  it('checks only the roots named in `only` in detail (unknown roots always)', () => {
    const doc = validDoc();
    settingsOf(doc).set('lr', 'fast');
    const copy = decoded(doc);
    expect(validateRoomDoc(copy, RES, new Set(['points', 'mask']))).toBeNull();
    expect(validateRoomDoc(copy, RES, new Set(['settings']))).toBe('settings.lr: expected a number, got string');
    copy.getText('junk').insert(0, 'x');
    expect(validateRoomDoc(copy, RES, new Set())).toBe('unknown root type "junk"');
  });
});

describe('editing functions stay within DOC_LIMITS', () => {
  it('addPoint refuses a pair past the limit but still completes an open one', () => {
    const doc = new Y.Doc();
    for (let i = 0; i < DOC_LIMITS.maxPointPairs; i++) {
      const u = { id: `u${i}`, name: `U${i}`, color: '#000000' };
      addPoint(doc, [i, i], u);
      if (i > 0) addPoint(doc, [i, 0], u);
    }
    // u0's pair is still open: its target is allowed; a new pair is not.
    expect(addPoint(doc, [3, 3], { id: 'u0', name: 'U0', color: '#000000' }).which).toBe('target');
    expect(() => addPoint(doc, [1, 1], ann)).toThrow(DocLimitError);
    expect(() => addPoint(doc, [1, 1], ann)).toThrow(/at most 32 point pairs/);
    expect(() => addPoint(new Y.Doc(), [Number.NaN, 1], ann)).toThrow(DocLimitError);
    expect(readPoints(doc)).toHaveLength(32);
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
  });

  it('addPoint keeps only short user fields; movePoint ignores non-finite points', () => {
    const doc = new Y.Doc();
    const { id } = addPoint(doc, [1, 1], { id: 'i'.repeat(100), name: 'n'.repeat(100), color: '#fff', extra: 1 } as never);
    expect(readPoints(doc)[0].by).toEqual({ id: 'i'.repeat(64), name: 'n'.repeat(64), color: '#fff' });
    movePoint(doc, id, 'handle', [Number.NaN, 2]);
    expect(readPoints(doc)[0].handle).toEqual([1, 1]);
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
  });

  it('addMaskStroke caps and clamps strokes and refuses a full mask', () => {
    const doc = new Y.Doc();
    addMaskStroke(doc, { mode: 'flexible', radius: 1000, points: [...new Array(5000).fill(5), Number.NaN, 1, -1e6, 1e6] }, { size: RES });
    let [s] = readMask(doc);
    expect(s.radius).toBe(DOC_LIMITS.maxBrushRadius);
    expect(s.points).toHaveLength(DOC_LIMITS.maxStrokeCoords);
    addMaskStroke(doc, { mode: 'fixed', radius: 0, points: [Number.NaN, 1, -1e6, 1e6] }, { size: RES });
    s = readMask(doc)[1];
    expect(s).toMatchObject({ mode: 'fixed', radius: DOC_LIMITS.minBrushRadius, points: [-128, RES + 128] });
    expect(() => addMaskStroke(doc, { mode: 'fixed', radius: 1, points: [Number.NaN, 1] })).toThrow(DocLimitError);
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
    while (readMask(doc).length < DOC_LIMITS.maxMaskStrokes) maskOf(doc).push([{ id: 'x', mode: 'flexible', radius: 1, points: [1, 1] }]);
    expect(() => addMaskStroke(doc, { mode: 'flexible', radius: 1, points: [1, 1] })).toThrow(/at most 400 strokes/);
  });

  it('addMaskStroke cuts a stroke to what is left of the coordinate budget', () => {
    const doc = new Y.Doc();
    const full = DOC_LIMITS.maxMaskCoords / DOC_LIMITS.maxStrokeCoords;
    for (let i = 0; i < full - 1; i++) addMaskStroke(doc, { mode: 'flexible', radius: 1, points: new Array(DOC_LIMITS.maxStrokeCoords).fill(2) });
    addMaskStroke(doc, { mode: 'flexible', radius: 1, points: new Array(DOC_LIMITS.maxStrokeCoords - 10).fill(2) });
    addMaskStroke(doc, { mode: 'flexible', radius: 1, points: new Array(100).fill(2) });
    expect(readMask(doc).at(-1)!.points).toHaveLength(10);
    expect(() => addMaskStroke(doc, { mode: 'flexible', radius: 1, points: [1, 1] })).toThrow(/at most 100,000 brush dabs/);
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
  });

  it('updateSettings clamps numbers and skips invalid values and unknown keys', () => {
    const doc = new Y.Doc();
    updateSettings(doc, { maxSteps: 12.6, lr: Number.NaN, lambda: 5000, method: 'magic' as never, latentSpace: 'w', bogus: 1 } as never);
    expect(settingsOf(doc).toJSON()).toEqual({ maxSteps: 13, lambda: 1000, latentSpace: 'w' });
    updateSettings(doc, { lr: '0.01' as never, maxSteps: -4 });
    expect(readSettings(doc)).toMatchObject({ maxSteps: 1, lr: 0.002 });
    expect(validateRoomDoc(decoded(doc), RES)).toBeNull();
  });
});

/** A room document at DOC_LIMITS (32 point pairs, 400 mask strokes with 100 000 coordinates in all, ~0.9 MB), for benchmarks. */
import * as Y from 'yjs';
import { DOC_LIMITS } from '../../contract/doc-limits.js';
import { addPoint, maskOf, updateSettings } from '../../contract/room-doc.js';
import type { MaskStroke } from '../../contract/mask.js';

/** The image resolution the document's points and strokes lie in. */
export const RES = 128;

/** One stroke short of the limit, so that a benchmark can still add one. */
export function fullDoc(): Y.Doc {
  const doc = new Y.Doc();
  for (let i = 0; i < DOC_LIMITS.maxPointPairs; i++) {
    const u = { id: `user-${i}`, name: `User ${i}`, color: '#123456' };
    addPoint(doc, [i, i], u);
    addPoint(doc, [RES - 1 - i, i], u);
  }
  const perStroke = DOC_LIMITS.maxMaskCoords / DOC_LIMITS.maxMaskStrokes;
  for (let i = 0; i < DOC_LIMITS.maxMaskStrokes - 1; i++) {
    const stroke: MaskStroke = { id: `s${i}`, mode: 'flexible', radius: 4, points: Array.from({ length: perStroke }, (_, k) => (k * 7.31 + i) % RES) };
    maskOf(doc).push([stroke]);
  }
  updateSettings(doc, { lr: 0.003, maxSteps: 50 });
  return doc;
}

/**
 * The server's way to rasterise a room's mask (run starts, DragBench exports): in slices of the event loop,
 * so a mask at the document limits (hundreds of milliseconds of work) never holds up frames, Yjs or other
 * requests; and cached by the strokes' identity, so asking again for an unchanged mask costs nothing.
 *
 * Strokes are immutable values inside the Yjs array (painting appends whole strokes), and reading the array
 * again returns the same objects until it changes, so "the same stroke objects in the same order, at the same
 * size" identifies a mask without hashing 100 000 coordinates.
 */
import { rasterizeMaskSteps, type MaskStroke } from '../../contract/mask.js';
import type { ImageSize } from '../../contract/events.js';
import { nextTurn } from '../next-turn.js';

/** Longest piece of rasterising between two yields to the event loop. */
const SLICE_MS = 5;
/** Masks kept (128 px: 16 KB each). */
const CACHE_ENTRIES = 32;

interface Entry {
  strokes: readonly MaskStroke[];
  size: ImageSize;
  mask: Promise<Uint8Array | undefined>;
}

const sameStrokes = (a: readonly MaskStroke[], b: readonly MaskStroke[]) => a.length === b.length && a.every((s, i) => s === b[i]);

export class MaskRasterizer {
  /** Most recently used last. */
  private readonly entries: Entry[] = [];

  /** The mask (shared with other callers: read it, never write it); undefined when there are no strokes. */
  rasterize(strokes: readonly MaskStroke[], size: ImageSize): Promise<Uint8Array | undefined> {
    const i = this.entries.findIndex((e) => e.size.width === size.width && e.size.height === size.height && sameStrokes(e.strokes, strokes));
    if (i >= 0) {
      const [hit] = this.entries.splice(i, 1);
      this.entries.push(hit);
      return hit.mask;
    }
    const entry: Entry = { strokes: [...strokes], size: { ...size }, mask: MaskRasterizer.inSlices(strokes, size) };
    entry.mask.catch(() => {
      const at = this.entries.indexOf(entry);
      if (at >= 0) this.entries.splice(at, 1);
    });
    this.entries.push(entry);
    if (this.entries.length > CACHE_ENTRIES) this.entries.shift();
    return entry.mask;
  }

  private static async inSlices(strokes: readonly MaskStroke[], size: ImageSize): Promise<Uint8Array | undefined> {
    const steps = rasterizeMaskSteps([...strokes], size.width, size.height);
    for (;;) {
      const until = performance.now() + SLICE_MS;
      let r = steps.next();
      while (!r.done && performance.now() < until) r = steps.next();
      if (r.done) return r.value;
      await nextTurn();
    }
  }
}

/**
 * One per process: the cache is keyed by stroke objects, which belong to one process's documents, and
 * every server in it may share what was computed.
 */
export const roomMasks = new MaskRasterizer();

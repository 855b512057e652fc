/**
 * Keeps a document's encoded size under a cap without encoding it on every update. It knows the size from the
 * last measurement plus the bytes of every update applied since, an upper bound (an update never grows the
 * encoded document by more than its own size, give or take a split struct). Only when that bound says an
 * incoming update would pass the cap is the document measured again (encoding it: ~10 ms at 2 MB), at most
 * once per `remeasureMs`, so a peer editing at the cap cannot make the server encode on every message.
 */
import * as Y from 'yjs';

export class DocSizeGuard {
  private measured = -1;
  private measuredAt = -Infinity;
  private added = 0;
  private readonly count = (update: Uint8Array) => (this.added += update.byteLength);

  constructor(
    private readonly doc: Y.Doc,
    readonly maxBytes: number,
    private readonly remeasureMs = 1000,
  ) {
    doc.on('update', this.count);
  }

  /** Null when the document with `update` applied stays within maxBytes; else the reason. */
  check(update: Uint8Array): string | null {
    if (this.measured < 0) this.measure();
    if (this.bound(update) <= this.maxBytes) return null;
    if (this.added > 0 && performance.now() - this.measuredAt >= this.remeasureMs) this.measure();
    const bound = this.bound(update);
    if (bound <= this.maxBytes) return null;
    return `the document would be too large: ${bound} bytes, the limit is ${this.maxBytes}`;
  }

  /** Measures now (after a compaction, which the running bound would overcount). */
  measure(): number {
    this.measured = Y.encodeStateAsUpdate(this.doc).byteLength;
    this.measuredAt = performance.now();
    this.added = 0;
    return this.measured;
  }

  destroy(): void {
    this.doc.off('update', this.count);
  }

  private bound(update: Uint8Array): number {
    return this.measured + this.added + update.byteLength;
  }
}

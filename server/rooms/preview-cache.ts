/**
 * Encoded seed previews by what determines them (model, seed, format), least recently used dropped first,
 * bounded by bytes rather than entries since a preview's size follows the model's resolution. Renders in
 * flight are shared, so a seed asked for twice at once costs one render.
 */
import type { EncodedImage } from '../../contract/events.js';

export class PreviewCache {
  /** Map order is recency: a hit moves its entry to the back. */
  private readonly done = new Map<string, EncodedImage>();
  private readonly pending = new Map<string, Promise<EncodedImage>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string, render: () => Promise<EncodedImage>): Promise<EncodedImage> {
    const hit = this.done.get(key);
    if (hit) {
      this.done.delete(key);
      this.done.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.pending.get(key);
    if (!p) {
      p = render().then(
        (image) => {
          this.pending.delete(key);
          this.store(key, image);
          return image;
        },
        (err) => {
          this.pending.delete(key);
          throw err;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }

  /** Bytes held (tests and health checks). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.done.size, bytes: this.bytes };
  }

  private store(key: string, image: EncodedImage): void {
    const n = image.bytes.byteLength;
    if (n > this.maxBytes) return;
    this.done.set(key, image);
    this.bytes += n;
    for (const [k, v] of this.done) {
      if (this.bytes <= this.maxBytes) break;
      this.done.delete(k);
      this.bytes -= v.bytes.byteLength;
    }
  }
}

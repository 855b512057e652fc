/**
 * Byte sources the pickle interpreter reads from, and a buffered forward reader over a range of one.
 * A checkpoint is read through fixed-size chunks, so memory does not grow with the file: large payloads
 * are skipped over and remembered as (offset, length) ranges that are read again only when needed.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { CheckpointImportError } from '../errors.js';

export interface ByteSource {
  readonly length: number;
  /** Copies `length` bytes at `offset` (the caller checked the range). */
  read(offset: number, length: number): Uint8Array;
}

export class FileSource implements ByteSource {
  readonly length: number;
  private readonly fd: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw new CheckpointImportError(`cannot open ${path}: ${(err as Error).message}`);
    }
    this.length = fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new CheckpointImportError(`${this.path}: file ended at byte ${offset + done} while reading`);
      done += n;
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get length(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A range of bytes left where it lies in its source (a large payload that was not copied). */
export class LazyBytes {
  constructor(
    readonly source: ByteSource,
    readonly offset: number,
    readonly length: number,
  ) {}
  materialize(): Uint8Array {
    return this.source.read(this.offset, this.length);
  }
}

const CHUNK = 1 << 20;

/** Forward reader over [start, end) of a source; positions it reports are absolute offsets in the source. */
export class BufferedReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart: number;
  private pos: number;
  private readonly hash?: Hash;

  constructor(
    readonly source: ByteSource,
    readonly start = 0,
    readonly end = source.length,
    private readonly onRead?: (position: number) => void,
    hashing = false,
  ) {
    this.pos = start;
    this.chunkStart = start;
    if (hashing) this.hash = createHash('sha256');
  }

  get position(): number {
    return this.pos;
  }

  private fill(): void {
    this.chunkStart = this.pos;
    const n = Math.min(CHUNK, this.end - this.pos);
    this.chunk = n > 0 ? this.source.read(this.pos, n) : new Uint8Array(0);
    this.hash?.update(this.chunk);
    this.onRead?.(this.pos + n);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new CheckpointImportError(`truncated file: ${what} at byte ${this.pos} needs ${n} bytes, but the data ends at byte ${this.end}`);
    }
  }

  byte(what = 'an opcode'): number {
    this.need(1, what);
    if (this.pos >= this.chunkStart + this.chunk.length) this.fill();
    return this.chunk[this.pos++ - this.chunkStart];
  }

  /** Copies the next n bytes (n small or below the lazy threshold). */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      if (this.pos >= this.chunkStart + this.chunk.length) this.fill();
      const from = this.pos - this.chunkStart;
      const take = Math.min(n - done, this.chunk.length - from);
      out.set(this.chunk.subarray(from, from + take), done);
      done += take;
      this.pos += take;
    }
    return out;
  }

  /** Steps over the next n bytes (still hashed, chunk by chunk) and returns where they lie. */
  skip(n: number, what: string): LazyBytes {
    this.need(n, what);
    const lazy = new LazyBytes(this.source, this.pos, n);
    let left = n;
    while (left > 0) {
      if (this.pos >= this.chunkStart + this.chunk.length) this.fill();
      const take = Math.min(left, this.chunkStart + this.chunk.length - this.pos);
      this.pos += take;
      left -= take;
    }
    return lazy;
  }

  /** Bytes up to (not including) the next newline, for the text opcodes of protocol 0. */
  line(what: string, max = 1 << 16): string {
    const out: number[] = [];
    for (;;) {
      const b = this.byte(what);
      if (b === 0x0a) break;
      if (out.length >= max) throw new CheckpointImportError(`${what} at byte ${this.pos} is longer than ${max} bytes`);
      out.push(b);
    }
    return Buffer.from(out).toString('latin1');
  }

  /** sha256 of everything read so far (the whole range once the reader reached its end). */
  digest(): string {
    while (this.pos < this.end) this.skip(Math.min(this.end - this.pos, CHUNK), 'trailing bytes');
    return this.hash ? this.hash.digest('hex') : '';
  }
}

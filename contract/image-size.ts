/**
 * Image sizes as the protocol passes them around: a room, its canvas, masks, point bounds and frames are all
 * width x height. A bare number is a square (the common case in tests and tools).
 */
// Imports in contract/ carry no extension (see room-doc.ts).
import type { ImageSize } from './events';

export type SizeLike = number | ImageSize;

export function asSize(size: SizeLike): ImageSize {
  return typeof size === 'number' ? { width: size, height: size } : { width: size.width, height: size.height };
}

/** Whether the size names a real image (positive, finite): unknown sizes leave coordinates unbounded. */
export function isKnownSize(size: ImageSize): boolean {
  return size.width > 0 && size.height > 0 && Number.isFinite(size.width) && Number.isFinite(size.height);
}

/**
 * The pixel size of an encoded PNG or WebP (VP8, VP8L, VP8X) from its header, or null when the bytes are
 * neither. Rooms read their size from their stored image this way, so a room keeps its size even when the
 * model it was made with is no longer offered.
 */
export function encodedImageSize(bytes: Uint8Array): ImageSize | null {
  const b = bytes;
  const u32be = (o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  const u16le = (o: number) => b[o] | (b[o + 1] << 8);
  const u24le = (o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR') {
    return { width: u32be(16), height: u32be(20) };
  }
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4);
    if (chunk === 'VP8X') return { width: u24le(24) + 1, height: u24le(27) + 1 };
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
      return { width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff };
    }
  }
  return null;
}

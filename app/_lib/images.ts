'use client';
/** Turns encoded image bytes from the server into something a canvas can draw. */
import type { EncodedImage } from '../../contract/events';

export async function decodeImage(img: EncodedImage): Promise<ImageBitmap> {
  const bytes = img.bytes instanceof ArrayBuffer ? new Uint8Array(img.bytes) : img.bytes;
  return createImageBitmap(new Blob([bytes as BlobPart], { type: img.mime }));
}

export function imageUrl(img: EncodedImage): string {
  const bytes = img.bytes instanceof ArrayBuffer ? new Uint8Array(img.bytes) : img.bytes;
  return URL.createObjectURL(new Blob([bytes as BlobPart], { type: img.mime }));
}

export function timeAgo(at: number | string): string {
  const t = typeof at === 'string' ? Date.parse(at) : at;
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

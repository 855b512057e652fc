'use client';
/** Sends a photo to the server's photo-room route (contract/photo-room.ts) and unwraps its answer. */
import { formatCrop, PHOTO_LIMITS, PHOTO_ROOM_PATH, type PhotoRoomAnswer, type PhotoRoomCreated } from '../../contract/photo-room';
import type { InvertSettings } from '../../contract/invert-settings';
import { RequestError } from './socket';
import type { CropRect } from './photo-crop';

/** What the app checks before sending (the server checks it all again, from the bytes). */
export function photoProblem(file: { size: number; type: string }): string | null {
  if (file.size > PHOTO_LIMITS.maxBytes) return `the file is ${(file.size / (1024 * 1024)).toFixed(1)} MB; at most ${PHOTO_LIMITS.maxBytes / (1024 * 1024)} MB is accepted`;
  // The browser's type comes from the name; an empty one is left to the server, which reads the bytes.
  if (file.type && !(PHOTO_LIMITS.types as readonly string[]).includes(file.type)) return `${file.type} files are not accepted; use PNG, JPEG or WebP`;
  return null;
}

export async function uploadPhoto(file: Blob, req: { model: string; title: string; crop: CropRect; settings?: Partial<InvertSettings> }): Promise<PhotoRoomCreated> {
  const q = new URLSearchParams({ model: req.model, crop: formatCrop(req.crop) });
  if (req.title) q.set('title', req.title);
  for (const [k, v] of Object.entries(req.settings ?? {})) q.set(k, String(v));
  let answer: PhotoRoomAnswer;
  try {
    const res = await fetch(`${PHOTO_ROOM_PATH}?${q}`, { method: 'POST', body: file });
    answer = (await res.json()) as PhotoRoomAnswer;
  } catch {
    throw new RequestError('network', 'the photo could not be sent (connection lost?)');
  }
  if (!answer.ok) throw new RequestError(answer.error.code, answer.error.message, answer.error.retryAfterSeconds);
  return answer;
}

/** Photos made at test time (sharp) and the upload request, for the photo-room tests. */
import sharp, { type Sharp } from 'sharp';
import { PHOTO_ROOM_PATH, type PhotoRoomAnswer } from '../../contract/photo-room.js';
import { TINY_MODEL_ID } from './helpers.js';

/** A w x h photo with four coloured quadrants (something an inversion can visibly fit). */
export function quadrants(w: number, h: number, channels: 3 | 4 = 3, alpha = 255): Sharp {
  const data = Buffer.alloc(w * h * channels);
  const colours = [[220, 40, 40], [40, 180, 60], [40, 60, 220], [230, 210, 60]];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = colours[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)];
      data.set(channels === 4 ? [...c, x < w / 2 ? alpha : 255] : c, (y * w + x) * channels);
    }
  }
  return sharp(data, { raw: { width: w, height: h, channels } });
}

export interface UploadResult {
  status: number;
  answer: PhotoRoomAnswer;
  retryAfter: string | null;
}

/** Small inversions keep the tests quick: a few W steps, then a few W+ steps. */
export const QUICK = { wSteps: '8', wPlusSteps: '4', loss: 'pixel' };

export async function upload(url: string, body: Uint8Array, params: Record<string, string> = {}): Promise<UploadResult> {
  const q = new URLSearchParams({ model: TINY_MODEL_ID, ...QUICK, ...params });
  for (const [k, v] of Object.entries(params)) if (v === '') q.delete(k);
  const res = await fetch(`${url}${PHOTO_ROOM_PATH}?${q}`, { method: 'POST', body: Buffer.from(body), headers: { 'content-type': 'application/octet-stream' } });
  return { status: res.status, answer: (await res.json()) as PhotoRoomAnswer, retryAfter: res.headers.get('retry-after') };
}

/**
 * POST /api/photos/face-crop through a real server and its worker pool: a photo with a procedural face pasted
 * at a known square gets a crop around it (IoU >= 0.7, the engine test's bound) marked confident; a photo
 * without one is answered but not confident; a model that is not a faces model, and a file that is no image,
 * are refused with the upload's error codes.
 */
import { resolve } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FACE_CROP_PATH, type FaceCropAnswer } from '../../contract/photo-room.js';
import { iou } from '../../engine/src/landmarks/face-crop.js';
import { background, pasteFace } from '../../bench/pasted-faces.js';
import { TINY_MODEL, TINY_MODEL_ID, useServerFixture } from './helpers.js';

const FACES = resolve(import.meta.dirname, '../../models/faces128/model.safetensors');

async function png(image: { width: number; height: number; data: Uint8ClampedArray }): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(image.data.buffer), { raw: { width: image.width, height: image.height, channels: 4 } }).png().toBuffer());
}

describe('suggested face crop over HTTP', () => {
  const fx = useServerFixture({ per: 'file' });

  async function ask(body: Uint8Array, model = 'faces'): Promise<{ status: number; answer: FaceCropAnswer }> {
    const res = await fetch(`${fx.server.url}${FACE_CROP_PATH}?model=${model}`, { method: 'POST', body: Buffer.from(body) });
    return { status: res.status, answer: (await res.json()) as FaceCropAnswer };
  }

  it('crops around a face, says when there is none, and refuses other models and non-images', async () => {
    await fx.restart({ models: [{ id: TINY_MODEL_ID, label: 'Tiny', path: TINY_MODEL }, { id: 'faces', label: 'Faces', path: FACES }] });
    // 1200x900: the route shrinks it to 640 px for the search and answers in the photo's own pixels.
    const photo = background(1200, 900, 41);
    pasteFace(photo, 77, 610, 140, 420);
    const found = await ask(await png(photo));
    expect(found.status).toBe(200);
    if (!found.answer.ok) throw new Error(found.answer.error.message);
    const { crop } = found.answer;
    expect(crop.width).toBe(crop.height);
    expect(crop.left + crop.width).toBeLessThanOrEqual(1200);
    expect(crop.top + crop.height).toBeLessThanOrEqual(900);
    expect(iou({ left: crop.left, top: crop.top, side: crop.width }, { left: 610, top: 140, side: 420 })).toBeGreaterThanOrEqual(0.7);
    expect(found.answer.confident).toBe(true);

    const none = await ask(await png(background(800, 600, 42)));
    expect(none.status).toBe(200);
    expect(none.answer.ok && none.answer.confident).toBe(false);

    const tiny = await ask(await png(background(64, 64, 43)), TINY_MODEL_ID);
    expect(tiny.status).toBe(400);
    expect(tiny.answer.ok === false && tiny.answer.error.code).toBe('invalid');
    const garbage = await ask(new TextEncoder().encode('not a photo'));
    expect(garbage.status).toBe(400);
    expect(garbage.answer.ok === false && garbage.answer.error.code).toBe('invalid-image');
  }, 120_000);

  it('holds an address to its quota of suggestions', async () => {
    await fx.restart({ models: [{ id: 'faces', label: 'Faces', path: FACES }], limits: { faceCropBurst: 1, faceCropsPerMinute: 1 } });
    const photo = await png(background(320, 240, 44));
    expect((await ask(photo)).status).toBe(200);
    const refused = await ask(photo);
    expect(refused.status).toBe(429);
    expect(refused.answer.ok === false && refused.answer.error.message).toMatch(/too many suggested crops/);
  }, 120_000);
});

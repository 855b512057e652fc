/**
 * Bad photos and bad requests at the photo-room route, on a real server: each gets a clear error with its
 * code and status and creates nothing; the defined conversions (transparency, CMYK, animated WebP) create a
 * room and say what they did; an oversized body is refused while it streams in.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { PHOTO_LIMITS, PHOTO_ROOM_PATH, type PhotoRoomCreated, type PhotoRoomRefused } from '../../contract/photo-room.js';
import { TINY_MODEL_ID, useServerFixture } from './helpers.js';
import { quadrants, upload } from './photo-upload-helpers.js';

/** Rewrites a PNG's IHDR size (and its CRC) without touching the pixel data: a decompression bomb's header. */
function patchPngSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)) >>> 0, 29);
  return out;
}

describe('photo uploads', () => {
  const fx = useServerFixture({ per: 'file' });
  const roomCount = async () => (await fx.server.store.listRecent(10_000)).length;

  async function refused(body: Uint8Array, params: Record<string, string>, status: number, code: string, message: RegExp): Promise<void> {
    const before = await roomCount();
    const res = await upload(fx.server.url, body, params);
    expect(res.status, JSON.stringify(res.answer)).toBe(status);
    const { error } = res.answer as PhotoRoomRefused;
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await roomCount()).toBe(before);
  }

  async function created(body: Uint8Array): Promise<PhotoRoomCreated> {
    const res = await upload(fx.server.url, body);
    expect(res.status, JSON.stringify(res.answer)).toBe(201);
    return res.answer as PhotoRoomCreated;
  }

  const storedPixel = async (roomId: string, x: number, y: number) => {
    const room = (await fx.server.store.get(roomId))!;
    const { data, info } = await sharp(Buffer.from(room.image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const o = (y * info.width + x) * 3;
    return [data[o], data[o + 1], data[o + 2]];
  };

  it('refuses wrong types, corrupt files and bomb headers by name, creating nothing', async () => {
    const png = await quadrants(40, 40).png().toBuffer();
    await refused(png.subarray(0, 60), {}, 400, 'invalid-image', /corrupt or truncated|PNG/);
    await refused(await quadrants(16, 16).gif().toBuffer(), {}, 400, 'invalid-image', /GIF images are not accepted/);
    await refused(Buffer.from('PK\x03\x04\x14\x00\x00\x00 a zip named photo.png'), {}, 400, 'invalid-image', /ZIP archive/);
    await refused(Buffer.from('just some text, not a photo\n'), {}, 400, 'invalid-image', /text, not an image/);
    await refused(new Uint8Array(0), {}, 400, 'invalid-image', /empty/);
    await refused(patchPngSize(png, 100_000, 100_000), {}, 400, 'invalid-image', /100000x100000 .*at most 40 megapixels/);
  }, 60_000);

  it('refuses bad crops, models and settings before anything is made', async () => {
    const png = await quadrants(48, 40).png().toBuffer();
    await refused(png, { crop: '20,0,40,40' }, 400, 'invalid-crop', /outside the 48x40 photo/);
    await refused(png, { crop: '0,0,40,20' }, 400, 'invalid-crop', /aspect ratio/);
    await refused(png, { crop: '0,0,-4,4' }, 400, 'invalid-crop', /whole pixels/);
    await refused(png, { crop: '0,0,0,0' }, 400, 'invalid-crop', /empty/);
    await refused(png, { model: 'nope' }, 400, 'invalid', /unknown model/);
    await refused(png, { wSteps: '99999' }, 400, 'invalid', /wSteps must be a whole number in \[0, 5000\]/);
    await refused(png, { lr: 'fast' }, 400, 'invalid', /lr must be a number/);
    await refused(png, { wSteps: '0', wPlusSteps: '0' }, 400, 'invalid', /nothing to run/);
    await refused(png, { extra: '1' }, 400, 'invalid', /unknown inversion setting "extra"/);
    const get = await fetch(`${fx.server.url}${PHOTO_ROOM_PATH}?model=${TINY_MODEL_ID}`);
    expect(get.status).toBe(400);
  }, 60_000);

  it('converts transparency, CMYK and animated WebP, and says so', async () => {
    // Left half transparent: composited over white.
    const transparent = await created(await quadrants(32, 32, 4, 0).png().toBuffer());
    expect(transparent.notices.join()).toMatch(/transparent parts were filled with white/);
    expect(await storedPixel(transparent.roomId, 2, 2)).toEqual([255, 255, 255]);

    const cmyk = await created(await quadrants(32, 32).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
    expect(cmyk.notices.join()).toMatch(/CMYK/);
    const [r, g, b] = await storedPixel(cmyk.roomId, 4, 4);
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(110);
    expect(b).toBeLessThan(110);

    const red = await quadrants(32, 32).png().toBuffer();
    const blue = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
    const webp = await sharp([red, blue], { join: { animated: true } }).webp({ lossless: true }).toBuffer();
    const animated = await created(webp);
    expect(animated.notices.join()).toMatch(/animated \(2 frames\): its first frame was used/);
    expect((await storedPixel(animated.roomId, 4, 4))[0]).toBeGreaterThan(150);
  }, 60_000);

  it('refuses an oversized body while it streams in, and one that says its size at once', async () => {
    const before = await roomCount();
    const url = new URL(`${fx.server.url}${PHOTO_ROOM_PATH}?model=${TINY_MODEL_ID}`);
    // Chunked (no length given): the server counts as it reads.
    const answer = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let done = false;
      const req = request(url, { method: 'POST', headers: { 'content-type': 'image/png' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          done = true;
          resolve({ status: res.statusCode!, body, sent });
        });
      });
      req.on('error', (err) => (done ? undefined : reject(err)));
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const pump = () => {
        // Far past the limit if the server kept reading; it answers at the first byte over it.
        while (!done && sent < 200 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!done) req.end();
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'too-large', message: expect.stringMatching(/at most 20 MB/) });
    expect(answer.sent).toBeLessThan(200 * 1024 * 1024);

    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-length': String(PHOTO_LIMITS.maxBytes + 1) } }, (res) => resolve(res.statusCode!));
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    expect(declared).toBe(413);
    expect(await roomCount()).toBe(before);
    // The server goes on serving.
    const ok = await upload(fx.server.url, await quadrants(32, 32).png().toBuffer());
    expect(ok.status).toBe(201);
  }, 120_000);

  it('spends the address\'s new-room quota, and drops a photo that trickles in too slowly', async () => {
    await fx.restart({ limits: { roomCreateBurst: 1, roomCreatesPerMinute: 1, photoUploadSeconds: 1 } });
    const slow = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(new URL(`${fx.server.url}${PHOTO_ROOM_PATH}?model=${TINY_MODEL_ID}`), { method: 'POST', headers: { 'content-length': '1000' } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(10));
    });
    expect(slow.status).toBe(408);
    expect(JSON.parse(slow.body).error.code).toBe('too-slow');
    // A fresh server (fresh quota, the default upload time) for the quota itself.
    await fx.restart({ limits: { roomCreateBurst: 1, roomCreatesPerMinute: 1 } });
    const png = await quadrants(32, 32).png().toBuffer();
    expect((await upload(fx.server.url, png)).status).toBe(201);
    const second = await upload(fx.server.url, png);
    expect(second.status).toBe(429);
    expect((second.answer as PhotoRoomRefused).error.code).toBe('limit');
    expect(Number(second.retryAfter)).toBeGreaterThan(0);
  }, 60_000);

  it('deletes the new room again when its inversion cannot be queued', async () => {
    await fx.restart({ limits: { runsPerAddress: 1 } });
    const png = await quadrants(32, 32).png().toBuffer();
    const first = await upload(fx.server.url, png, { wSteps: '5000', wPlusSteps: '0' });
    expect(first.status).toBe(201);
    const before = await roomCount();
    const second = await upload(fx.server.url, png);
    expect(second.status).toBe(429);
    expect((second.answer as PhotoRoomRefused).error).toMatchObject({ code: 'limit', message: expect.stringMatching(/runs waiting or running/) });
    expect(await roomCount()).toBe(before);
    fx.server.runs.stop((first.answer as PhotoRoomCreated).roomId);
  }, 60_000);
});

// Upload decoding with images made here by sharp (and bytes patched by hand for the hostile cases).
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageInputError } from '../../engine/src/errors.js';
import { MAX_IMAGE_BYTES, centreCrop, decodeImage, fitImage, probeImage } from '../../engine/src/io/image-input.js';

type RGB = [number, number, number];

/** A w x h image, left half `a`, right half `b`, as raw RGB(A) bytes for sharp. */
function halves(w: number, h: number, a: number[], b: number[]): { data: Buffer; raw: { width: number; height: number; channels: 3 | 4 } } {
  const c = a.length as 3 | 4;
  const data = Buffer.alloc(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < w / 2 ? a : b, (y * w + x) * c);
  return { data, raw: { width: w, height: h, channels: c } };
}

const make = (w: number, h: number, a: number[], b: number[]) => {
  const { data, raw } = halves(w, h, a, b);
  return sharp(data, { raw });
};

function pixel(img: { width: number; data: Uint8ClampedArray }, x: number, y: number): RGB {
  const o = (y * img.width + x) * 4;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

function near(actual: RGB, expected: RGB, tol = 6): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol));
}

async function refused(bytes: Uint8Array, message: RegExp): Promise<void> {
  const err = await fitImage(bytes, { width: 16, height: 16 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ImageInputError);
  expect((err as ImageInputError).code).toBe('invalid-image');
  expect((err as Error).message).toMatch(message);
}

/** Rewrites a PNG's IHDR size (and its CRC) without touching the pixel data. */
function patchPngSize(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)) >>> 0, 29);
  return out;
}

describe('image decoding for uploads', () => {
  it('fits an RGB PNG: centre crop of the model aspect, resized', async () => {
    const png = await make(64, 32, [255, 0, 0], [0, 0, 255]).png().toBuffer();
    expect(centreCrop(64, 32, 16, 16)).toEqual({ left: 16, top: 0, width: 32, height: 32 });
    const { image, info, crop } = await fitImage(png, { width: 16, height: 16 });
    expect(info).toMatchObject({ format: 'png', width: 64, height: 32, frames: 1 });
    expect(crop).toEqual({ left: 16, top: 0, width: 32, height: 32 });
    expect([image.width, image.height]).toEqual([16, 16]);
    near(pixel(image, 1, 8), [255, 0, 0]);
    near(pixel(image, 14, 8), [0, 0, 255]);
    // An explicit crop of the right half only.
    const right = await fitImage(png, { width: 8, height: 8, crop: { left: 40, top: 4, width: 20, height: 20 } });
    near(pixel(right.image, 0, 0), [0, 0, 255]);
    expect([right.image.width, right.image.height]).toEqual([8, 8]);
  });

  it('honours EXIF orientation (a 90-degree JPEG comes out upright)', async () => {
    // Stored 40x20 red|blue; orientation 6 means "rotate 90 clockwise to view": red on top, blue below.
    const jpeg = await make(40, 20, [255, 0, 0], [0, 0, 255]).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const { image, info } = await decodeImage(jpeg);
    expect(info.orientation).toBe(6);
    expect([info.width, info.height, image.width, image.height]).toEqual([20, 40, 20, 40]);
    near(pixel(image, 10, 3), [255, 0, 0], 20);
    near(pixel(image, 10, 36), [0, 0, 255], 20);
  });

  it('composites transparent PNG pixels over white', async () => {
    const png = await make(16, 16, [0, 0, 0, 0], [0, 200, 0, 255]).png().toBuffer();
    const { image, info } = await fitImage(png, { width: 16, height: 16 });
    expect(info.hasAlpha).toBe(true);
    near(pixel(image, 2, 2), [255, 255, 255], 0);
    near(pixel(image, 13, 2), [0, 200, 0], 0);
    expect(image.data[3]).toBe(255);
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const jpeg = await make(16, 16, [255, 0, 0], [255, 255, 255]).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    const info = await probeImage(jpeg);
    expect(info.space).toBe('cmyk');
    const { image } = await fitImage(jpeg, { width: 16, height: 16 });
    const red = pixel(image, 2, 8);
    expect(red[0]).toBeGreaterThan(200);
    expect(red[1]).toBeLessThan(80);
    expect(red[2]).toBeLessThan(80);
    near(pixel(image, 13, 8), [255, 255, 255], 10);
  });

  it('reads 16-bit and grey PNGs as 8-bit RGB', async () => {
    const wide = new Uint16Array(16 * 16 * 3);
    for (let p = 0; p < 256; p++) wide.set(p % 16 < 8 ? [65535, 0, 0] : [0, 0, 32896], p * 3);
    const png16 = await sharp(wide, { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const a = await fitImage(png16, { width: 16, height: 16 });
    near(pixel(a.image, 2, 2), [255, 0, 0], 1);
    near(pixel(a.image, 13, 2), [0, 0, 128], 1);

    const grey = await make(16, 16, [40, 40, 40], [220, 220, 220]).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const b = await fitImage(grey, { width: 8, height: 8 });
    near(pixel(b.image, 1, 1), [40, 40, 40], 2);
    near(pixel(b.image, 6, 1), [220, 220, 220], 2);
  });

  it('uses the first frame of an animated WebP', async () => {
    const frame1 = await make(16, 16, [255, 0, 0], [255, 0, 0]).png().toBuffer();
    const frame2 = await make(16, 16, [0, 0, 255], [0, 0, 255]).png().toBuffer();
    const webp = await sharp([frame1, frame2], { join: { animated: true } }).webp({ lossless: true }).toBuffer();
    const { image, info } = await fitImage(webp, { width: 16, height: 16 });
    expect(info).toMatchObject({ format: 'webp', frames: 2, width: 16, height: 16 });
    near(pixel(image, 8, 8), [255, 0, 0], 2);
  });

  it('refuses wrong types by name', async () => {
    await refused(Buffer.from('PK\x03\x04\x14\x00\x00\x00 this is a zip pretending to be .png'), /ZIP archive/);
    await refused(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), /SVG/);
    await refused(Buffer.from('hello, this is just a text file\n'), /text, not an image/);
    await refused(Buffer.from([0x00, 0x01, 0x02, 0x03, 0xfe, 0x00, 0x00, 0x10]), /unknown file type/);
    await refused(Buffer.alloc(0), /empty/);
    const gif = await make(8, 8, [1, 2, 3], [4, 5, 6]).gif().toBuffer();
    await refused(gif, /GIF/);
  });

  it('refuses corrupt and truncated files', async () => {
    const png = await make(64, 64, [10, 200, 30], [200, 10, 30]).png({ compressionLevel: 0 }).toBuffer();
    await refused(png.subarray(0, Math.floor(png.length / 2)), /PNG file is corrupt or truncated/);
    await refused(png.subarray(0, 20), /PNG file is corrupt or truncated/);
    const jpeg = await make(64, 64, [10, 200, 30], [200, 10, 30]).jpeg().toBuffer();
    await refused(jpeg.subarray(0, Math.floor(jpeg.length / 2)), /JPEG file is corrupt or truncated/);
    const flipped = Buffer.from(png);
    for (let i = 60; i < flipped.length - 20; i += 7) flipped[i] ^= 0xff;
    await refused(flipped, /PNG file is corrupt or truncated/);
  });

  it('refuses decompression bombs and oversize files before decoding', async () => {
    const small = await make(8, 8, [0, 0, 0], [0, 0, 0]).png().toBuffer();
    // 100000 x 100000 claimed by a 70-byte file.
    await refused(patchPngSize(small, 100_000, 100_000), /10000\.0 megapixels\); at most 40 megapixels/);
    await refused(patchPngSize(small, 8000, 6000), /48\.0 megapixels/);
    const big = Buffer.alloc(MAX_IMAGE_BYTES + 1);
    small.copy(big);
    await refused(big, /20\.0 MB; at most 20 MB/);
  });

  it('previews a large image downscaled, with the scale to map a crop back', async () => {
    const png = await make(3000, 1500, [255, 0, 0], [0, 0, 255]).png().toBuffer();
    const { image, info, scale } = await decodeImage(png, 600);
    expect([info.width, info.height, image.width, image.height]).toEqual([3000, 1500, 600, 300]);
    expect(scale).toBeCloseTo(0.2, 10);
    near(pixel(image, 10, 150), [255, 0, 0], 2);
  });

  it('refuses a crop outside the image', async () => {
    const png = await make(32, 32, [0, 0, 0], [255, 255, 255]).png().toBuffer();
    const err = await fitImage(png, { width: 8, height: 8, crop: { left: 20, top: 0, width: 20, height: 20 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageInputError);
    expect((err as Error).message).toMatch(/outside the 32x32 image/);
  });
});

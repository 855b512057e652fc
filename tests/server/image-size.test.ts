import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { asSize, encodedImageSize, isKnownSize } from '../../contract/image-size.js';
import { cssToImage, cssToPixel, fitStage, imageToCss } from '../../app/_lib/stage-geometry.js';
import { rasterizeMask } from '../../contract/mask.js';
import { validateRoomDoc } from '../../contract/doc-validate.js';
import * as Y from 'yjs';
import { addMaskStroke, addPoint, readMask } from '../../contract/room-doc.js';

const raw = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 30 } } });

describe('encodedImageSize', () => {
  it('reads width and height from PNG, lossless WebP, lossy WebP and extended WebP headers', async () => {
    for (const [w, h] of [[256, 512], [512, 256], [1024, 1024], [33, 7]]) {
      expect(encodedImageSize(await raw(w, h).png().toBuffer())).toEqual({ width: w, height: h });
      expect(encodedImageSize(await raw(w, h).webp({ lossless: true }).toBuffer())).toEqual({ width: w, height: h });
      expect(encodedImageSize(await raw(w, h).webp({ quality: 80 }).toBuffer())).toEqual({ width: w, height: h });
      expect(encodedImageSize(await raw(w, h).ensureAlpha(0.5).webp({ quality: 80 }).toBuffer())).toEqual({ width: w, height: h });
    }
  });

  it('says null for anything else', () => {
    expect(encodedImageSize(new Uint8Array(0))).toBeNull();
    expect(encodedImageSize(new TextEncoder().encode('RIFF....WEBPVP8L nothing here at all'))).toBeNull();
    expect(encodedImageSize(new Uint8Array(100).fill(0xff))).toBeNull();
  });

  it('takes a number as a square, and knows an unknown size', () => {
    expect(asSize(64)).toEqual({ width: 64, height: 64 });
    expect(isKnownSize({ width: 0, height: 10 })).toBe(false);
    expect(isKnownSize({ width: 10, height: 20 })).toBe(true);
  });
});

describe('width x height documents and masks', () => {
  it('bounds points and mask dabs per axis', () => {
    const doc = new Y.Doc();
    addPoint(doc, [255, 500], { id: 'a', name: 'a', color: '#000000' });
    expect(validateRoomDoc(doc, { width: 256, height: 512 })).toBeNull();
    expect(validateRoomDoc(doc, { width: 512, height: 256 })).toMatch(/y = 500 is outside the image \[0, 256\]/);
    expect(validateRoomDoc(doc, 256)).toMatch(/y = 500/);
    addMaskStroke(doc, { mode: 'flexible', radius: 2, points: [10_000, 10_000] }, { size: { width: 256, height: 512 } });
    // Clamped to the image plus the brush margin on each axis.
    expect(readMask(doc)[0].points).toEqual([256 + 128, 512 + 128]);
    expect(validateRoomDoc(doc, { width: 256, height: 512 })).toBeNull();
  });

  it('rasterises a non-square mask row by row at width x height', () => {
    const m = rasterizeMask([{ id: '1', mode: 'flexible', radius: 3, points: [14, 40] }], 16, 48)!;
    expect(m.length).toBe(16 * 48);
    expect(m[40 * 16 + 14]).toBe(1);
    expect(m[40 * 16 + 15]).toBe(1);
    expect(m[37 * 16 + 14]).toBe(1);
    expect(m[36 * 16 + 14]).toBe(0);
    // The disc is cut at the right edge, not wrapped onto the next row.
    expect(m[41 * 16 + 0]).toBe(0);
  });
});

describe('stage geometry', () => {
  it('keeps the image aspect ratio inside the box and maps pointers per axis', () => {
    const size = { width: 256, height: 512 };
    const stage = fitStage({ width: 900, height: 700 }, size);
    expect(stage).toEqual({ width: 350, height: 700, scale: 700 / 512 });
    const rect = { width: stage.width, height: stage.height };
    expect(cssToPixel(...imageToCss([200, 450], rect, size), rect, size)).toEqual([200, 450]);
    expect(cssToPixel(10_000, -5, rect, size)).toEqual([255, 0]);
    expect(cssToImage(0, 0, rect, size)).toEqual([-0.5, -0.5]);
    // A 20 px brush is 20 image pixels: on screen it scales with the stage, whatever the image size.
    for (const n of [256, 1024]) expect(20 * fitStage({ width: 800, height: 800 }, { width: n, height: n }).scale).toBeCloseTo((20 * 800) / n);
    expect(fitStage({ width: 10, height: 10 }, { width: 0, height: 0 })).toEqual({ width: 160, height: 160, scale: 1 });
  });
});

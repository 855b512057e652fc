/**
 * The suggested face crop's cost by photo size (docs/benchmarks.md, "Suggested face crop").
 *
 *   npm run bench:face-crop [-- --sizes 1,4,12,24,40 --repeat 2]
 *
 * For each size in megapixels (4:3): a procedural face (training/faces) pasted into a busy background at a
 * known square, upscaled by libvips to that size and written as a JPEG (quality 90), then timed as the
 * studio serves it (server/rooms/face-crop-route.ts): decoding and shrinking to 640 px (libvips,
 * engine/src/io/image-input.ts decodeImage), then the search (engine/src/landmarks/face-crop.ts) with the
 * shipped detector on wasm, one thread. IoU is the suggested square against the pasted one.
 */
import os from 'node:os';
import sharp from 'sharp';
import { initBackend, loadLandmarkDetector } from '../engine/src/index.js';
import { decodeImage } from '../engine/src/io/image-input.js';
import { iou, suggestFaceCrop } from '../engine/src/landmarks/face-crop.js';
import { background, pasteFace } from '../bench/pasted-faces.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const sizes = arg('sizes', '1,4,12,24,40').split(',').map(Number);
const repeat = Number(arg('repeat', '2'));
await initBackend({ backend: 'wasm', log: () => {} });
const detector = await loadLandmarkDetector();
const base = { width: 800, height: 600 };
const face = { left: 430, top: 120, side: 300 };
const small = background(base.width, base.height, 61);
pasteFace(small, 99, face.left, face.top, face.side);
console.log(`host ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| photo | JPEG MB | decode + shrink ms | search ms | windows | IoU | confidence |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const mp of sizes) {
  const width = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
  const height = Math.round((width * 3) / 4);
  const jpeg = new Uint8Array(
    await sharp(Buffer.from(small.data.buffer), { raw: { width: base.width, height: base.height, channels: 4 } })
      .resize(width, height, { kernel: 'cubic' })
      .removeAlpha()
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
  const truth = { left: (face.left * width) / base.width, top: (face.top * height) / base.height, side: (face.side * width) / base.width };
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    const { image, scale } = await decodeImage(jpeg, 640);
    const t1 = performance.now();
    const found = suggestFaceCrop(detector, image);
    const t2 = performance.now();
    const w = found.window;
    const inPhoto = { left: w.left / scale, top: w.top / scale, side: w.side / scale };
    console.log(
      `| ${width}x${height} (${mp} MP) | ${(jpeg.byteLength / 1e6).toFixed(1)} | ${(t1 - t0).toFixed(0)} | ${(t2 - t1).toFixed(0)} | ${found.windows} | ${iou(inPhoto, truth).toFixed(3)} | ${found.confidence.toFixed(2)} |`,
    );
  }
}
detector.dispose();

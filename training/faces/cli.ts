// npm run dataset -- --out DIR --count N [--size 128] [--start SEED] [--version 1|2] [--png]
// Writes images.u8, landmarks.f32, preview.png, optional png/, then meta.json last.
import fs from 'node:fs';
import path from 'node:path';
import { sampleFaceParams, PARAM_NAMES, DATASET_VERSIONS, DEFAULT_DATASET_VERSION } from './params.js';
import type { DatasetVersion } from './params.js';
import { renderFace, defaultSupersample } from './render.js';
import { LANDMARK_NAMES } from './landmarks.js';
import { TensorFile, encodePng, makeGrid, f32le, writeJsonAtomic } from './pack.js';

interface Args { out: string; count: number; size: number; start: number; version: DatasetVersion; png: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { out: '', count: 0, size: 128, start: 0, version: DEFAULT_DATASET_VERSION, png: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const s = argv[++i];
      if (s === undefined) throw new Error(`missing value for ${k}`);
      return s;
    };
    const int = (s: string) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${k} needs a non-negative integer, got ${s}`);
      return n;
    };
    if (k === '--out') a.out = v();
    else if (k === '--count') a.count = int(v());
    else if (k === '--size') a.size = int(v());
    else if (k === '--start') a.start = int(v());
    else if (k === '--version') {
      const n = int(v());
      if (!(DATASET_VERSIONS as readonly number[]).includes(n)) throw new Error(`--version must be one of ${DATASET_VERSIONS.join(', ')}, got ${n}`);
      a.version = n as DatasetVersion;
    } else if (k === '--png') a.png = true;
    else if (k === '--help' || k === '-h') usage(0);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.out || a.count <= 0 || a.size < 8) usage(1);
  return a;
}

function usage(code: number): never {
  process.stderr.write('usage: npm run dataset -- --out DIR --count N [--size 128] [--start SEED] [--version 1|2] [--png]\n');
  process.exit(code);
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const { out, count, size, start, version } = args;
  fs.mkdirSync(out, { recursive: true });
  // A stale meta.json would tell a waiting trainer the new files are complete.
  fs.rmSync(path.join(out, 'meta.json'), { force: true });
  if (args.png) fs.mkdirSync(path.join(out, 'png'), { recursive: true });
  const images = new TensorFile(path.join(out, 'images.u8'));
  const marks = new TensorFile(path.join(out, 'landmarks.f32'));
  const preview: Uint8Array[] = [];
  const t0 = performance.now();
  let lastReport = 0;
  const tty = process.stderr.isTTY;
  for (let i = 0; i < count; i++) {
    const face = renderFace(sampleFaceParams(start + i, version), size);
    images.push(face.rgb);
    marks.push(f32le(face.landmarks));
    if (preview.length < 64) preview.push(face.rgb);
    if (args.png) fs.writeFileSync(path.join(out, 'png', `${String(i).padStart(6, '0')}.png`), encodePng(face.rgb, size, size));
    const now = performance.now();
    if (now - lastReport > (tty ? 250 : 5000) || i === count - 1) {
      lastReport = now;
      const el = (now - t0) / 1000;
      const rate = (i + 1) / el;
      const line = `${i + 1}/${count} (${((100 * (i + 1)) / count).toFixed(1)}%) ${rate.toFixed(1)} img/s elapsed ${fmtTime(el)} ETA ${fmtTime((count - i - 1) / rate)}`;
      process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
    }
  }
  images.close();
  marks.close();
  const grid = makeGrid(preview, size, 8);
  fs.writeFileSync(path.join(out, 'preview.png'), encodePng(grid.rgb, grid.w, grid.h));
  const seconds = (performance.now() - t0) / 1000;
  writeJsonAtomic(path.join(out, 'meta.json'), {
    count, size, start, version,
    landmarkNames: LANDMARK_NAMES,
    paramNames: PARAM_NAMES,
    supersample: defaultSupersample(size),
    generator: `training/faces (procedural stylised faces), image i = renderFace(sampleFaceParams(start + i, ${version}), size)`,
    format: {
      'images.u8': `uint8, shape [${count}, ${size}, ${size}, 3], RGB, row-major (N, H, W, C), no header`,
      'landmarks.f32': `float32 little-endian, shape [${count}, ${LANDMARK_NAMES.length}, 2], (x, y) in output pixels, no header`,
      landmarkConvention: 'pixel (i, j) covers [i, i+1) x [j, j+1); a landmark (x, y) lies in pixel (floor(x), floor(y)); left/right = image left/right',
      'preview.png': '8x8 grid of the first 64 images',
      ...(args.png ? { png: 'png/NNNNNN.png, NNNNNN = index i (seed start + i)' } : {}),
    },
    seconds: Number(seconds.toFixed(1)),
    imagesPerSecond: Number((count / seconds).toFixed(1)),
  });
  process.stderr.write(`${tty ? '\n' : ''}wrote ${count} images to ${out} in ${fmtTime(seconds)} (${(count / seconds).toFixed(1)} img/s)\n`);
}

main();

/**
 * Before/after strips of drags on a model, for docs/: handles placed on landmarks found by the landmark
 * detector, targets where the part should plausibly go. Each row: before (handles red, targets blue),
 * after (final tracked handles), both scaled up. Prints the detector's final landmark-to-target distances.
 * --mask-radius R gives each drag the mask a user would paint: a capsule of R px around every
 * handle-to-target segment, so the rest of the face is held by the fixed-region term (default 0: no mask).
 * Also writes the numbers next to the PNG (same name, .json, with the model's sha256), which the model card
 * (training/quality/model_card.py) shows under "Drags".
 *   npx tsx scripts/drag-strips.ts [--model FILE] [--out docs/models/NAME-drags.png] [--method stabledrag]
 *     [--steps 120] [--mask-radius 0]
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  defaultModelPath,
  dragRun,
  initBackend,
  loadGenerator,
  loadLandmarkDetector,
  type DragMethod,
  type Point,
  type RGBAImage,
} from '../engine/src/index.js';
import { imageGrid, writePng } from '../engine/src/io/png.js';

interface Edit {
  name: string;
  seed: number;
  moves: Array<{ landmark: string; dx: number; dy: number }>;
}

const EDITS: Edit[] = [
  { name: 'open the mouth', seed: 11, moves: [{ landmark: 'lower_lip', dx: 0, dy: 8 }] },
  { name: 'smile', seed: 23, moves: [{ landmark: 'mouth_left', dx: -4, dy: -4 }, { landmark: 'mouth_right', dx: 4, dy: -4 }] },
  { name: 'turn the head', seed: 37, moves: [{ landmark: 'nose_tip', dx: 10, dy: 0 }] },
  { name: 'raise the brows', seed: 41, moves: [{ landmark: 'left_brow_outer', dx: 0, dy: -6 }, { landmark: 'right_brow_outer', dx: 0, dy: -6 }] },
  { name: 'longer chin', seed: 53, moves: [{ landmark: 'chin', dx: 0, dy: 10 }] },
];

const SCALE = 2;

function upscale(img: RGBAImage): RGBAImage {
  const w = img.width * SCALE;
  const out: RGBAImage = { width: w, height: img.height * SCALE, data: new Uint8ClampedArray(w * img.height * SCALE * 4) };
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / SCALE) * img.width + Math.floor(x / SCALE)) * 4;
      out.data.set(img.data.subarray(s, s + 4), (y * w + x) * 4);
    }
  }
  return out;
}

function dot(img: RGBAImage, p: Point, rgb: [number, number, number], r = 4): void {
  const cx = (p[0] + 0.5) * SCALE;
  const cy = (p[1] + 0.5) * SCALE;
  for (let y = Math.floor(cy - r); y <= cy + r; y++) {
    for (let x = Math.floor(cx - r); x <= cx + r; x++) {
      if (x < 0 || y < 0 || x >= img.width || y >= img.height || (x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
      img.data.set([...rgb, 255], (y * img.width + x) * 4);
    }
  }
}

function line(img: RGBAImage, a: Point, b: Point): void {
  const n = Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) * SCALE);
  for (let i = 0; i <= n; i++) dot(img, [a[0] + ((b[0] - a[0]) * i) / n, a[1] + ((b[1] - a[1]) * i) / n], [255, 255, 255], 1);
}

/** Non-zero (may change) within `radius` of any handle-to-target segment. */
function capsuleMask(size: number, points: Array<{ handle: Point; target: Point }>, radius: number): Uint8Array {
  const mask = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (const { handle: a, target: b } of points) {
        const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
        const t = Math.min(Math.max(((x - a[0]) * dx + (y - a[1]) * dy) / Math.max(dx * dx + dy * dy, 1e-9), 0), 1);
        if (Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy) <= radius) mask[y * size + x] = 1;
      }
    }
  }
  return mask;
}

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    method: { type: 'string' },
    steps: { type: 'string' },
    'mask-radius': { type: 'string' },
  },
});
const maskRadius = Number(values['mask-radius'] ?? 0);
await initBackend();
const modelPath = values.model ?? defaultModelPath();
const gen = await loadGenerator(modelPath);
const method = (values.method ?? 'stabledrag') as DragMethod;
const maxSteps = Number(values.steps ?? 120);
const results: Array<{ name: string; seed: number; steps: number; moves: Array<{ landmark: string; dx: number; dy: number; before: number; after: number }> }> = [];
const detector = await loadLandmarkDetector();
const names = detector.landmarkNames;
const rows: RGBAImage[] = [];
for (const edit of EDITS) {
  const latent = gen.latentFromSeed(edit.seed);
  const before = gen.render(latent);
  const marks = detector.detect(before);
  const points = edit.moves.map((m) => {
    const i = names.indexOf(m.landmark);
    const handle: Point = [marks[2 * i], marks[2 * i + 1]];
    const clamp = (v: number, size: number) => Math.min(Math.max(v, 0), size - 1);
    return { handle, target: [clamp(handle[0] + m.dx, gen.width), clamp(handle[1] + m.dy, gen.height)] as Point };
  });
  let last;
  const mask = maskRadius > 0 ? capsuleMask(gen.height, points, maskRadius) : undefined;
  for await (const ev of dragRun(gen, { latent, points, mask, options: { method, maxSteps, stallSteps: 0, imageEvery: 10_000 } })) {
    if (ev.type === 'step') last = ev;
  }
  const after = last!.image!;
  const found = detector.detect(after);
  const errors = edit.moves.map((m, k) => {
    const i = names.indexOf(m.landmark);
    return Math.hypot(found[2 * i] - points[k].target[0], found[2 * i + 1] - points[k].target[1]);
  });
  results.push({
    name: edit.name,
    seed: edit.seed,
    steps: last!.step,
    moves: edit.moves.map((m, k) => ({ ...m, before: Math.hypot(m.dx, m.dy), after: errors[k] })),
  });
  console.log(`${edit.name} (seed ${edit.seed}): ${last!.step} steps, landmark-to-target ${errors.map((e) => e.toFixed(1)).join(', ')} px (was ${edit.moves.map((m) => Math.hypot(m.dx, m.dy).toFixed(1)).join(', ')})`);
  const a = upscale(before);
  const b = upscale(after);
  points.forEach((p, k) => {
    line(a, p.handle, p.target);
    dot(a, p.handle, [230, 40, 40]);
    dot(a, p.target, [40, 90, 240]);
    dot(b, last!.handles[k], [230, 40, 40]);
    dot(b, p.target, [40, 90, 240]);
  });
  rows.push(a, b);
}
const out = values.out ?? `docs/models/${gen.config.name ?? 'model'}-drags.png`;
writePng(out, imageGrid(rows, 2));
const sha256 = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
const numbers = { model: { sha256 }, method, maxSteps, maskRadius, detector: 'models/landmarks/detector.safetensors', edits: results };
writeFileSync(out.replace(/\.png$/, '.json'), JSON.stringify(numbers, null, 1) + '\n');
console.log(`wrote ${out} and its .json`);

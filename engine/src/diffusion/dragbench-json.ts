/**
 * case.json: one DragCase in a single self-contained JSON file (the CLI's exchange format), with the image
 * and the mask as base64 PNGs so any tool can look at them. The mask PNG is white where the image may change.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { PointPair } from '../drag/types.js';
import { encodePng, maskFromPng } from '../io/png.js';
import { MAX_IMAGE_BYTES } from '../io/image-input.js';
import { DragBenchError } from './dragbench-error.js';
import { decodePng, validateDragCase, type DragCase } from './dragbench.js';

export const DRAG_CASE_FORMAT = 'stabledrag-drag-case';
export const DRAG_CASE_VERSION = 1;
/** Two base64 PNGs of at most MAX_IMAGE_BYTES each, plus the points and prompt. */
const MAX_CASE_JSON_BYTES = 3 * MAX_IMAGE_BYTES;

interface DragCaseJson {
  format: typeof DRAG_CASE_FORMAT;
  version: typeof DRAG_CASE_VERSION;
  prompt: string;
  width: number;
  height: number;
  points: PointPair[];
  image: string;
  mask: string;
}

function maskPng(mask: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 0 });
  for (let p = 0; p < mask.length; p++) {
    const v = mask[p] ? 255 : 0;
    png.data[p * 4] = png.data[p * 4 + 1] = png.data[p * 4 + 2] = v;
    png.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0 });
}

export function dragCaseToJson(c: DragCase): string {
  validateDragCase(c);
  const json: DragCaseJson = {
    format: DRAG_CASE_FORMAT,
    version: DRAG_CASE_VERSION,
    prompt: c.prompt,
    width: c.image.width,
    height: c.image.height,
    points: c.points.map((p) => ({ handle: [p.handle[0], p.handle[1]], target: [p.target[0], p.target[1]] })),
    image: encodePng(c.image).toString('base64'),
    mask: maskPng(c.mask, c.image.width, c.image.height).toString('base64'),
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

function base64Png(v: unknown, what: string): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(v)) throw new DragBenchError(`case.json: ${what} must be a base64 PNG string`);
  return Buffer.from(v, 'base64');
}

export function dragCaseFromJson(text: string): DragCase {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DragBenchError(`case.json is not JSON: ${(err as Error).message}`);
  }
  const j = raw as Partial<DragCaseJson> | null;
  if (!j || typeof j !== 'object' || j.format !== DRAG_CASE_FORMAT) throw new DragBenchError(`case.json: not a drag case (format must be '${DRAG_CASE_FORMAT}')`);
  if (j.version !== DRAG_CASE_VERSION) throw new DragBenchError(`case.json: version ${JSON.stringify(j.version)} is not ${DRAG_CASE_VERSION}`);
  if (typeof j.prompt !== 'string') throw new DragBenchError('case.json: prompt must be a string');
  const image = decodePng(base64Png(j.image, 'image'), 'case.json image');
  if (j.width !== image.width || j.height !== image.height) throw new DragBenchError(`case.json says ${j.width}x${j.height}, its image is ${image.width}x${image.height}`);
  const maskImage = decodePng(base64Png(j.mask, 'mask'), 'case.json mask');
  if (maskImage.width !== image.width || maskImage.height !== image.height) {
    throw new DragBenchError(`case.json: the mask is ${maskImage.width}x${maskImage.height}, the image ${image.width}x${image.height}`);
  }
  const c: DragCase = { image, prompt: j.prompt, points: j.points as PointPair[], mask: maskFromPng(maskImage, image.width, image.height) };
  validateDragCase(c);
  return c;
}

export function readDragCaseJson(file: string): DragCase {
  if (!existsSync(file)) throw new DragBenchError(`${file} is missing`);
  const size = statSync(file).size;
  if (size > MAX_CASE_JSON_BYTES) throw new DragBenchError(`${file} is ${size} bytes, more than ${MAX_CASE_JSON_BYTES}`);
  return dragCaseFromJson(readFileSync(file, 'utf8'));
}

export function writeDragCaseJson(file: string, c: DragCase): void {
  writeFileSync(file, dragCaseToJson(c));
}

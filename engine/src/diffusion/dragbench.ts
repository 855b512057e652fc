/**
 * DragBench case folders (DragDiffusion's benchmark): original_image.png, user_drag.png (the image with the
 * drags drawn, for people only) and meta_data.pkl (prompt, points, mask). A folder is read into a DragCase,
 * the engine's own shape of one drag edit, and a DragCase is written back as a folder DragDiffusion reads.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { validatePointsAndMask } from '../drag/options.js';
import type { PointPair, RGBAImage } from '../drag/types.js';
import { DragInputError } from '../errors.js';
import { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS } from '../io/image-input.js';
import { DragBenchError } from './dragbench-error.js';
import { decodeMetaData, encodeMetaData, MAX_META_DATA_BYTES } from './dragbench-pickle.js';
import { drawUserDrag } from './dragbench-drawing.js';
import { MAX_PROMPT_CHARS } from './tokenizer.js';

/** One drag edit: the image, what it shows, the handle/target pairs (image pixels) and the editable region. */
export interface DragCase {
  image: RGBAImage;
  prompt: string;
  points: PointPair[];
  /** height x width bytes, row-major, 1 where the image may change. */
  mask: Uint8Array;
}

export const DRAGBENCH_FILES = { image: 'original_image.png', userDrag: 'user_drag.png', metaData: 'meta_data.pkl' } as const;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function readBounded(file: string, max: number): Buffer {
  if (!existsSync(file)) throw new DragBenchError(`${file} is missing`);
  const size = statSync(file).size;
  if (size > max) throw new DragBenchError(`${file} is ${size} bytes, more than ${max}`);
  return readFileSync(file);
}

/** Decodes a PNG after checking its signature and header size, so a hostile header cannot make pngjs allocate gigabytes. */
export function decodePng(bytes: Buffer, what: string): RGBAImage {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw new DragBenchError(`${what} is not a PNG file`);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width < 1 || height < 1 || width * height > MAX_IMAGE_PIXELS) throw new DragBenchError(`${what} is ${width}x${height}, outside 1..${MAX_IMAGE_PIXELS / 1e6} megapixels`);
  try {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
  } catch (err) {
    throw new DragBenchError(`${what} cannot be decoded: ${(err as Error).message}`);
  }
}

/** Checks a case against its image: an even number of points, all inside, and a mask of the image's size. */
export function validateDragCase(c: DragCase): void {
  const { width, height } = c.image;
  if (c.image.data.length !== width * height * 4) throw new DragBenchError(`the image holds ${c.image.data.length} bytes, expected ${width}x${height} RGBA`);
  if (typeof c.prompt !== 'string' || c.prompt.length > MAX_PROMPT_CHARS) throw new DragBenchError(`the prompt must be a string of at most ${MAX_PROMPT_CHARS} characters`);
  try {
    validatePointsAndMask(c.points, c.mask, width, height);
  } catch (err) {
    if (err instanceof DragInputError) throw new DragBenchError(err.message);
    throw err;
  }
}

/** Pairs DragBench's flat point list (handle, target, handle, target, ...). */
function pairPoints(flat: Array<[number, number]>): PointPair[] {
  if (flat.length % 2) throw new DragBenchError(`meta_data.pkl has ${flat.length} points; handles and targets alternate, so the count must be even`);
  const pairs: PointPair[] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push({ handle: flat[i], target: flat[i + 1] });
  return pairs;
}

export function readDragBenchCase(dir: string): DragCase {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DragBenchError(`${dir} is not a folder`);
  const image = decodePng(readBounded(path.join(dir, DRAGBENCH_FILES.image), MAX_IMAGE_BYTES), DRAGBENCH_FILES.image);
  const meta = decodeMetaData(readBounded(path.join(dir, DRAGBENCH_FILES.metaData), MAX_META_DATA_BYTES), image);
  const c: DragCase = { image, prompt: meta.prompt, points: pairPoints(meta.points), mask: meta.mask.data };
  try {
    validateDragCase(c);
  } catch (err) {
    if (err instanceof DragBenchError) throw new DragBenchError(`meta_data.pkl: ${err.message}`);
    throw err;
  }
  return c;
}

/** An RGB PNG, as PIL saves DragBench's images (DragDiffusion's scripts expect 3 channels). */
function encodeRgbPng(image: RGBAImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height, colorType: 2 });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return PNG.sync.write(png, { colorType: 2 });
}

/** Writes the three files of a case folder (creating the folder); the case is checked before anything is written. */
export function writeDragBenchCase(dir: string, c: DragCase): void {
  validateDragCase(c);
  const meta = encodeMetaData({
    prompt: c.prompt,
    points: c.points.flatMap((p) => [p.handle, p.target]),
    mask: { height: c.image.height, width: c.image.width, data: c.mask },
  });
  const original = encodeRgbPng(c.image);
  const userDrag = encodeRgbPng(drawUserDrag(c.image, c.points, c.mask));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, DRAGBENCH_FILES.image), original);
  writeFileSync(path.join(dir, DRAGBENCH_FILES.userDrag), userDrag);
  writeFileSync(path.join(dir, DRAGBENCH_FILES.metaData), meta);
}

/**
 * Safe decoding of user images (PNG, JPEG, WebP) into a model-sized RGB input.
 *
 * Free of TensorFlow.js on purpose: the server imports this file directly (not the engine's index, which
 * loads tfjs) to validate uploads on its main thread. Everything untrusted is checked before pixels are
 * decoded: the byte size, the type from the file's own magic bytes (never its name), and the dimensions from
 * the header, with sharp's limitInputPixels as a second guard. Decoding, orientation, colour conversion,
 * crop and resize then run as one libvips pipeline, so a 40-megapixel photo never exists in JS memory.
 *
 * Conversions (defined, not errors):
 * - EXIF orientation is applied first; widths, heights and crop rectangles are in the upright image.
 * - Transparency is composited over white (TRANSPARENT_BACKGROUND).
 * - CMYK and other colour spaces are converted to sRGB; grey images are expanded to RGB; 16-bit to 8-bit.
 * - Animated WebP: the first frame is used (`frames` says how many there were). GIF is not accepted.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { ImageInputError } from '../errors.js';
import type { RGBAImage } from '../drag/types.js';

export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
export const MAX_IMAGE_PIXELS = 40_000_000;
/** What transparent pixels become: white, the usual page colour, so a cut-out subject keeps its edges. */
export const TRANSPARENT_BACKGROUND = { r: 255, g: 255, b: 255 } as const;

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ImageInfo {
  format: ImageFormat;
  /** Upright size (after EXIF orientation). */
  width: number;
  height: number;
  /** Frames in the file (animated WebP > 1); only the first is used. */
  frames: number;
  hasAlpha: boolean;
  /** The file's colour space as libvips names it (srgb, cmyk, b-w, rgb16, grey16...). */
  space: string;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
}

/** A rectangle in the upright image's pixels. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

const startsWith = (b: Uint8Array, bytes: number[], at = 0) => bytes.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));

/** The type from magic bytes, or an error that names what the file is when it is a known non-image. */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  if (bytes.length === 0) throw new ImageInputError('the file is empty');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 4) === 'GIF8') throw new ImageInputError('GIF images are not accepted; use PNG, JPEG or WebP');
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    throw new ImageInputError('the file is a ZIP archive, not an image; use PNG, JPEG or WebP');
  }
  const head = ascii(bytes, 0, 512).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (head.startsWith('<svg') || ((head.startsWith('<?xml') || head.startsWith('<!doctype svg')) && head.includes('<svg'))) {
    throw new ImageInputError('SVG (vector) images are not accepted; use PNG, JPEG or WebP');
  }
  const sample = bytes.subarray(0, 512);
  if (sample.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128)) {
    throw new ImageInputError('the file is text, not an image; use PNG, JPEG or WebP');
  }
  throw new ImageInputError('unknown file type; use PNG, JPEG or WebP');
}

function checkBytes(bytes: Uint8Array): void {
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new ImageInputError(`the file is ${(bytes.length / 1048576).toFixed(1)} MB; at most ${MAX_IMAGE_BYTES / 1048576} MB is accepted`);
  }
}

function pipeline(bytes: Uint8Array, limitInputPixels: number | false = MAX_IMAGE_PIXELS): Sharp {
  // failOn 'warning': a truncated or damaged file is an error rather than a half-grey picture.
  return sharp(bytes, { limitInputPixels, failOn: 'warning', pages: 1, page: 0 });
}

function decodeFailure(err: unknown, format: ImageFormat): ImageInputError {
  const msg = (err as Error).message ?? String(err);
  if (/pixel limit/i.test(msg)) return new ImageInputError(`the image has more than ${MAX_IMAGE_PIXELS / 1e6} megapixels`);
  return new ImageInputError(`the ${format.toUpperCase()} file is corrupt or truncated (${msg.split('\n')[0]})`);
}

/** Reads only the header: type, upright size, frames. Throws ImageInputError for anything refused. */
export async function probeImage(bytes: Uint8Array): Promise<ImageInfo> {
  checkBytes(bytes);
  const format = sniffFormat(bytes);
  let meta: Metadata;
  try {
    // Header only: no pixel is decoded here, so the size is checked below with a message that gives it.
    meta = await pipeline(bytes, false).metadata();
  } catch (err) {
    throw decodeFailure(err, format);
  }
  if (meta.format !== format) throw new ImageInputError(`the file starts like ${format.toUpperCase()} but decodes as ${meta.format}`);
  const { width, height } = meta.autoOrient ?? meta;
  if (!width || !height) throw new ImageInputError('the image has no size');
  // A header can claim any size in a few bytes (a decompression bomb); refuse before any pixel is decoded.
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageInputError(`the image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels); at most ${MAX_IMAGE_PIXELS / 1e6} megapixels is accepted`);
  }
  return {
    format,
    width,
    height,
    frames: meta.pages ?? 1,
    hasAlpha: meta.hasAlpha,
    space: meta.space,
    orientation: meta.orientation ?? 1,
  };
}

/** The largest rectangle of the target aspect ratio, centred in the image. */
export function centreCrop(imageWidth: number, imageHeight: number, targetWidth: number, targetHeight: number): CropRect {
  const scale = Math.min(imageWidth / targetWidth, imageHeight / targetHeight);
  const width = Math.max(1, Math.min(imageWidth, Math.round(targetWidth * scale)));
  const height = Math.max(1, Math.min(imageHeight, Math.round(targetHeight * scale)));
  return { left: Math.floor((imageWidth - width) / 2), top: Math.floor((imageHeight - height) / 2), width, height };
}

function checkCrop(crop: CropRect, info: ImageInfo): void {
  const { left, top, width, height } = crop;
  if (![left, top, width, height].every(Number.isInteger)) throw new ImageInputError('the crop rectangle must be whole pixels');
  if (width < 1 || height < 1) throw new ImageInputError('the crop rectangle is empty');
  if (left < 0 || top < 0 || left + width > info.width || top + height > info.height) {
    throw new ImageInputError(`the crop ${width}x${height}+${left}+${top} is outside the ${info.width}x${info.height} image`);
  }
}

export interface FitOptions {
  /** The model's image size. */
  width: number;
  height: number;
  /** Region of the upright image to use; default the centre crop of the model's aspect ratio. */
  crop?: CropRect;
}

export interface FittedImage {
  image: RGBAImage;
  info: ImageInfo;
  crop: CropRect;
}

/**
 * Decodes, orients, converts to sRGB, crops and resizes to width x height (Lanczos; a crop of another aspect
 * ratio is stretched to fill). The result is opaque RGBA.
 */
export async function fitImage(bytes: Uint8Array, options: FitOptions): Promise<FittedImage> {
  const { width, height } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ImageInputError(`bad target size ${width}x${height}`);
  }
  const info = await probeImage(bytes);
  const crop = options.crop ?? centreCrop(info.width, info.height, width, height);
  checkCrop(crop, info);
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline(bytes)
      .autoOrient()
      .extract(crop)
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: TRANSPARENT_BACKGROUND })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeFailure(err, info.format);
  }
  return { image: toRGBA(raw.data, raw.info), info, crop };
}

/**
 * The whole upright image as opaque RGBA for previews and the crop step, downscaled so its longer side is at
 * most maxSide (a 40 MP photo would otherwise be 160 MB of RGBA). `scale` = preview pixels per image pixel.
 */
export async function decodeImage(bytes: Uint8Array, maxSide = 1024): Promise<{ image: RGBAImage; info: ImageInfo; scale: number }> {
  const info = await probeImage(bytes);
  const scale = Math.min(1, maxSide / Math.max(info.width, info.height));
  const width = Math.max(1, Math.round(info.width * scale));
  const height = Math.max(1, Math.round(info.height * scale));
  const fitted = await fitImage(bytes, { width, height, crop: { left: 0, top: 0, width: info.width, height: info.height } });
  return { image: fitted.image, info, scale: width / info.width };
}

function toRGBA(data: Buffer, info: OutputInfo): RGBAImage {
  const n = info.width * info.height;
  const c = info.channels;
  if (data.length !== n * c) throw new ImageInputError(`decoder returned ${data.length} bytes for ${info.width}x${info.height}x${c}`);
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    // Grey (1-2 channels) repeats the single channel; a remaining alpha is ignored (already flattened).
    const r = data[p * c];
    out[p * 4] = r;
    out[p * 4 + 1] = c >= 3 ? data[p * c + 1] : r;
    out[p * 4 + 2] = c >= 3 ? data[p * c + 2] : r;
    out[p * 4 + 3] = 255;
  }
  return { width: info.width, height: info.height, data: out };
}

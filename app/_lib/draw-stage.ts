'use client';
/**
 * Pure drawing of the stage: the image scaled up with nearest-neighbour (crisp pixels), the mask overlay,
 * and the points (handles red, targets blue, an arrow from each handle to its target).
 */
import type { ImageSize, Point } from '../../contract/events';

export const HANDLE_COLOR = '#ff4d4f';
export const TARGET_COLOR = '#3b82f6';
const MASK_TINT: [number, number, number] = [255, 214, 10];

export interface StagePair {
  handle: Point;
  target: Point | null;
  /** Owner's colour, drawn as a thin ring. */
  color?: string;
  /** The handle where the run started (drawn faint while a run moves it). */
  origin?: Point;
}

/**
 * The mask as an RGBA overlay at image resolution: the fixed region is dimmed and the flexible region gets
 * a faint warm tint, so "what may change" reads at a glance on any image.
 */
export function maskOverlay(mask: Uint8Array | undefined, size: ImageSize): ImageData | null {
  if (!mask) return null;
  const data = new ImageData(size.width, size.height);
  for (let i = 0; i < mask.length; i++) {
    const o = i * 4;
    if (mask[i]) {
      data.data[o] = MASK_TINT[0];
      data.data[o + 1] = MASK_TINT[1];
      data.data[o + 2] = MASK_TINT[2];
      data.data[o + 3] = 40;
    } else {
      data.data[o + 3] = 130;
    }
  }
  return data;
}

function arrow(ctx: CanvasRenderingContext2D, from: [number, number], to: [number, number], width: number): void {
  const [x0, y0] = from;
  const [x1, y1] = to;
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len < 2) return;
  const ux = (x1 - x0) / len;
  const uy = (y1 - y0) / len;
  const head = Math.min(12, len / 2.5) * (width / 2);
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1 - ux * head * 0.8, y1 - uy * head * 0.8);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - ux * head - uy * head * 0.55, y1 - uy * head + ux * head * 0.55);
  ctx.lineTo(x1 - ux * head + uy * head * 0.55, y1 - uy * head - ux * head * 0.55);
  ctx.closePath();
  ctx.fill();
}

function dot(ctx: CanvasRenderingContext2D, x: number, y: number, r: number, fill: string, ring?: string): void {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.lineWidth = Math.max(1.5, r * 0.35);
  ctx.strokeStyle = '#fff';
  ctx.stroke();
  if (ring) {
    ctx.beginPath();
    ctx.arc(x, y, r + ctx.lineWidth + 1, 0, Math.PI * 2);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = ring;
    ctx.stroke();
  }
}

export interface DrawInput {
  image: CanvasImageSource | null;
  /** The image's size in pixels (the canvas has its aspect ratio). */
  size: ImageSize;
  mask: ImageData | null;
  pairs: StagePair[];
  dpr: number;
}

export function drawStage(ctx: CanvasRenderingContext2D, input: DrawInput, scratch: HTMLCanvasElement): void {
  const { width: W, height: H } = ctx.canvas;
  const sx = W / input.size.width;
  const sy = H / input.size.height;
  ctx.clearRect(0, 0, W, H);
  ctx.imageSmoothingEnabled = false;
  if (input.image) ctx.drawImage(input.image, 0, 0, W, H);
  if (input.mask) {
    scratch.width = input.size.width;
    scratch.height = input.size.height;
    scratch.getContext('2d')!.putImageData(input.mask, 0, 0);
    ctx.drawImage(scratch, 0, 0, W, H);
  }
  const px = (p: Point): [number, number] => [(p[0] + 0.5) * sx, (p[1] + 0.5) * sy];
  const r = 6 * input.dpr;
  ctx.lineCap = 'round';
  for (const pair of input.pairs) {
    if (pair.origin) {
      ctx.globalAlpha = 0.45;
      dot(ctx, ...px(pair.origin), r * 0.6, HANDLE_COLOR);
      ctx.globalAlpha = 1;
    }
    if (pair.target) {
      ctx.strokeStyle = 'rgba(255,255,255,0.92)';
      ctx.fillStyle = 'rgba(255,255,255,0.92)';
      ctx.lineWidth = 2.5 * input.dpr;
      arrow(ctx, px(pair.handle), px(pair.target), 2.5 * input.dpr);
    }
  }
  for (const pair of input.pairs) {
    if (pair.target) dot(ctx, ...px(pair.target), r, TARGET_COLOR, pair.color);
    dot(ctx, ...px(pair.handle), r, HANDLE_COLOR, pair.color);
  }
}

'use client';
/**
 * The stage: draws the image, mask and points, and turns pointer input into document edits. Points mode:
 * click adds a point (handle, then target), dragging a point moves it. Mask mode: painting adds brush
 * strokes, flushed every 120 ms while painting so others see the stroke grow.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ImageSize, Point } from '../../contract/events';
import { rasterizeMask, type MaskMode, type MaskStroke } from '../../contract/mask';
import { drawStage, maskOverlay, type StagePair } from '../_lib/draw-stage';
import { cssToImage, cssToPixel, fitStage, imageToCss } from '../_lib/stage-geometry';
import type { Peer } from '../_lib/use-shared-doc';
import { PeerCursors } from './PeerCursors';

export type Tool = 'points' | 'mask';

export interface DragCanvasProps {
  image: ImageBitmap | null;
  /** The room's image size: the stage keeps its aspect ratio; points, brushes and masks are in its pixels. */
  size: ImageSize;
  pairs: (StagePair & { id?: string })[];
  strokes: MaskStroke[];
  showMask: boolean;
  tool: Tool;
  brush: { radius: number; mode: MaskMode };
  locked: boolean;
  peers: Peer[];
  onAddPoint(p: Point): void;
  onMovePoint(id: string, which: 'handle' | 'target', p: Point): void;
  onStroke(stroke: Omit<MaskStroke, 'id'>): void;
  onCursor(p: Point | null): void;
}

const HIT_RADIUS_CSS = 12;
const STROKE_FLUSH_MS = 120;

export function DragCanvas(props: DragCanvasProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const scratch = useRef<HTMLCanvasElement | null>(null);
  const [box, setBox] = useState({ width: 512, height: 512 });
  const [dpr, setDpr] = useState(1);
  const [liveStroke, setLiveStroke] = useState<number[] | null>(null);
  const gesture = useRef<
    | { kind: 'move'; id: string; which: 'handle' | 'target' }
    | { kind: 'paint'; points: number[]; lastFlush: number; sent: number }
    | { kind: 'click'; at: Point; x: number; y: number }
    | null
  >(null);
  const { size } = props;
  const known = size.width > 0 && size.height > 0;
  const css = fitStage(box, size);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(([entry]) => {
      const box = entry.contentRect;
      setBox({ width: box.width, height: box.height });
      setDpr(window.devicePixelRatio || 1);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const strokes = useMemo(() => {
    if (!liveStroke) return props.strokes;
    return [...props.strokes, { id: 'live', mode: props.brush.mode, radius: props.brush.radius, points: liveStroke }];
  }, [props.strokes, liveStroke, props.brush]);
  const overlay = useMemo(
    () => (props.showMask && known ? maskOverlay(rasterizeMask(strokes, size.width, size.height), size) : null),
    [strokes, props.showMask, known, size.width, size.height],
  );

  useEffect(() => {
    const c = canvas.current;
    if (!c || !known) return;
    const pw = Math.round(css.width * dpr);
    const ph = Math.round(css.height * dpr);
    if (c.width !== pw || c.height !== ph) {
      c.width = pw;
      c.height = ph;
    }
    scratch.current ??= document.createElement('canvas');
    drawStage(c.getContext('2d')!, { image: props.image, size, mask: overlay, pairs: props.pairs, dpr }, scratch.current);
  }, [props.image, props.pairs, overlay, css.width, css.height, dpr, known, size]);

  const toImage = (e: React.PointerEvent): Point => {
    const rect = canvas.current!.getBoundingClientRect();
    return cssToPixel(e.clientX - rect.left, e.clientY - rect.top, rect, size);
  };
  const toImageFloat = (e: React.PointerEvent): Point => {
    const rect = canvas.current!.getBoundingClientRect();
    return cssToImage(e.clientX - rect.left, e.clientY - rect.top, rect, size);
  };

  const hitTest = (e: React.PointerEvent): { id: string; which: 'handle' | 'target' } | null => {
    const rect = canvas.current!.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    let best: { id: string; which: 'handle' | 'target'; d: number } | null = null;
    for (const p of props.pairs) {
      if (!p.id) continue;
      for (const which of ['handle', 'target'] as const) {
        const pt = p[which];
        if (!pt) continue;
        const [px, py] = imageToCss(pt, rect, size);
        const d = Math.hypot(px - x, py - y);
        if (d <= HIT_RADIUS_CSS && (!best || d < best.d)) best = { id: p.id, which, d };
      }
    }
    return best;
  };

  /** Sends the dabs painted since the last flush (plus the last sent dab, so the line stays joined). */
  const flushPaint = () => {
    const g = gesture.current;
    if (!g || g.kind !== 'paint') return;
    if (g.points.length > g.sent) {
      props.onStroke({ mode: props.brush.mode, radius: props.brush.radius, points: g.points.slice(Math.max(0, g.sent - 2)) });
      g.sent = g.points.length;
    }
    g.lastFlush = performance.now();
    // The local document already holds what was sent; nothing unsent is left to preview.
    setLiveStroke(null);
  };

  const onPointerDown = (e: React.PointerEvent) => {
    if (props.locked || e.button !== 0) return;
    canvas.current!.setPointerCapture(e.pointerId);
    if (props.tool === 'mask') {
      const [x, y] = toImageFloat(e);
      gesture.current = { kind: 'paint', points: [x, y], lastFlush: performance.now(), sent: 0 };
      setLiveStroke([x, y]);
      return;
    }
    const hit = hitTest(e);
    gesture.current = hit ? { kind: 'move', ...hit } : { kind: 'click', at: toImage(e), x: e.clientX, y: e.clientY };
  };

  const onPointerMove = (e: React.PointerEvent) => {
    props.onCursor(toImageFloat(e));
    const g = gesture.current;
    if (!g || props.locked) return;
    if (g.kind === 'move') props.onMovePoint(g.id, g.which, toImage(e));
    else if (g.kind === 'paint') {
      const [x, y] = toImageFloat(e);
      const lx = g.points[g.points.length - 2];
      const ly = g.points[g.points.length - 1];
      if (Math.hypot(x - lx, y - ly) < Math.max(0.5, props.brush.radius / 4)) return;
      g.points.push(x, y);
      if (performance.now() - g.lastFlush > STROKE_FLUSH_MS) flushPaint();
      else setLiveStroke(g.points.slice(Math.max(0, g.sent - 2)));
    }
  };

  const onPointerUp = (e: React.PointerEvent) => {
    const g = gesture.current;
    gesture.current = null;
    if (!g || props.locked) return;
    if (g.kind === 'click' && Math.hypot(e.clientX - g.x, e.clientY - g.y) < 6) props.onAddPoint(g.at);
    if (g.kind === 'paint') {
      gesture.current = g;
      flushPaint();
      gesture.current = null;
    }
  };

  const cursorStyle = props.locked ? 'not-allowed' : props.tool === 'mask' ? 'none' : 'crosshair';
  return (
    <div className="stage-wrap" ref={wrap}>
      <div className="stage" style={{ width: css.width, height: css.height }} data-testid="stage" data-image-width={size.width} data-image-height={size.height}>
        <canvas
          ref={canvas}
          className="stage-canvas"
          style={{ width: css.width, height: css.height, cursor: cursorStyle }}
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={() => (gesture.current = null)}
          onPointerLeave={() => props.onCursor(null)}
          aria-label="Image stage"
          data-testid="stage-canvas"
        />
        {props.tool === 'mask' && !props.locked && <BrushCursor radius={props.brush.radius} scale={css.scale} canvas={canvas} />}
        <PeerCursors peers={props.peers} scale={css.scale} />
      </div>
    </div>
  );
}

/** A circle that follows the pointer and shows the brush size. */
function BrushCursor({ radius, scale, canvas }: { radius: number; scale: number; canvas: React.RefObject<HTMLCanvasElement | null> }) {
  const [pos, setPos] = useState<[number, number] | null>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const move = (e: PointerEvent) => {
      const r = c.getBoundingClientRect();
      setPos([e.clientX - r.left, e.clientY - r.top]);
    };
    const leave = () => setPos(null);
    c.addEventListener('pointermove', move);
    c.addEventListener('pointerleave', leave);
    return () => {
      c.removeEventListener('pointermove', move);
      c.removeEventListener('pointerleave', leave);
    };
  }, [canvas]);
  if (!pos) return null;
  const d = radius * 2 * scale;
  return <div className="brush-cursor" style={{ width: d, height: d, left: pos[0] - d / 2, top: pos[1] - d / 2 }} />;
}

'use client';
/** A room: the stage in the middle, the run and editing panels on the right, everyone's presence on top. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { DOC_LIMITS } from '../../contract/doc-limits';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { Point } from '../../contract/events';
import { DocLimitError, addMaskStroke, addPoint, clearMask, clearPoints, movePoint, setDiffusionPrompt, undoLastPoint, updateDiffusionSettings, updateSettings } from '../../contract/room-doc';
import type { DiffusionSettings } from '../../contract/diffusion-settings';
import type { MaskMode, MaskStroke } from '../../contract/mask';
import type { RunSettings } from '../../contract/run-settings';
import { useIdentity } from '../_lib/identity';
import { useRoomSession } from '../_lib/use-room-session';
import { useSharedDoc } from '../_lib/use-shared-doc';
import { useHistory } from '../_lib/use-history';
import type { StagePair } from '../_lib/draw-stage';
import { DragCanvas, type Tool } from './DragCanvas';
import { RoomHeader } from './RoomHeader';
import { RunPanel } from './RunPanel';
import { PointsPanel } from './PointsPanel';
import { MaskPanel } from './MaskPanel';
import { SettingsPanel } from './SettingsPanel';
import { DiffusionSettingsPanel } from './DiffusionSettingsPanel';
import { TimelinePanel } from './TimelinePanel';
import { Segmented } from './Panels';
import { Toasts, useToasts } from './Toasts';
import { takePhotoNotices } from '../_lib/photo-notices';

export function RoomView({ token }: { token: string }) {
  const [me, rename] = useIdentity();
  const [toasts, toast] = useToasts();
  const session = useRoomSession(token, me, toast);
  const roomId = session.state?.room.roomId ?? null;
  const shared = useSharedDoc(roomId, token, me);
  const history = useHistory(roomId, toast);
  const router = useRouter();
  // A room just made from a photo: say what was done to the photo (an animated WebP's first frame...).
  useEffect(() => {
    for (const n of takePhotoNotices(token)) toast(`Your photo: ${n}`);
  }, [token, toast]);
  const viewed = history.selected ? history.viewed : null;
  const roomWidth = session.state?.room.width ?? 0;
  const roomHeight = session.state?.room.height ?? 0;
  const size = useMemo(() => ({ width: roomWidth, height: roomHeight }), [roomWidth, roomHeight]);
  const shortSide = Math.min(roomWidth, roomHeight);
  const canEdit = session.state?.role === 'edit';
  const busy = !!session.queue?.current || (session.queue?.queued.length ?? 0) > 0;
  const locked = !canEdit || busy || !shared.doc || !!history.selected;

  const [tool, setTool] = useState<Tool>('points');
  const [brushMode, setBrushMode] = useState<MaskMode>('flexible');
  const [radius, setRadius] = useState(0);
  const [showMask, setShowMask] = useState(true);
  useEffect(() => {
    // DragGAN's default brush is 50 image px at 512 px; scale it to this image's shorter side. The radius is
    // in image pixels at any stage size (the brush cursor is drawn at the stage's scale).
    if (shortSide && !radius) setRadius(Math.max(1, Math.round((50 * shortSide) / 512)));
  }, [shortSide, radius]);

  const { doc } = shared;
  // A limit reached while painting fails every flush: say it once, not ten times a second.
  const lastLimit = useRef({ text: '', at: 0 });
  const edit = useCallback(<A extends unknown[]>(fn: (d: NonNullable<typeof doc>, ...a: A) => void) => (...a: A) => {
    if (!doc || locked) return;
    try {
      fn(doc, ...a);
    } catch (err) {
      if (!(err instanceof DocLimitError)) throw err;
      const now = Date.now();
      if (err.message !== lastLimit.current.text || now - lastLimit.current.at > 4000) toast(err.message);
      lastLimit.current = { text: err.message, at: now };
    }
  }, [doc, locked, toast]);

  // The server refused a change of ours and the room was reloaded: say so.
  useEffect(() => {
    if (shared.lastError) toast(shared.lastError.message);
  }, [shared.lastError, toast]);

  const frame = session.frame;
  const showFrame = !!frame && (busy || frame.final);
  const pairs: (StagePair & { id?: string })[] = useMemo(() => {
    if (viewed) return viewed.handles.map((h, i) => ({ handle: h, target: viewed.targets[i] ?? null }));
    if (showFrame && frame) {
      const origins = shared.points.filter((p) => p.target);
      return frame.handles.map((h, i) => ({ handle: h, target: frame.targets[i] ?? null, origin: origins[i]?.handle }));
    }
    return shared.points.map((p) => ({ id: p.id, handle: p.handle, target: p.target, color: p.by?.color }));
  }, [viewed, showFrame, frame, shared.points]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement)?.closest('input, textarea')) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z' && doc && !locked) {
        e.preventDefault();
        undoLastPoint(doc);
      } else if (e.key === 'p') setTool('points');
      else if (e.key === 'm') setTool('mask');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [doc, locked]);

  if (session.error) {
    return (
      <div className="empty-state">
        <h1>This link doesn’t open a room</h1>
        <p className="muted">{session.error.message}</p>
        <Link href="/" className="btn primary">Go to StableDrag Studio</Link>
      </div>
    );
  }

  return (
    <div className="room">
      <RoomHeader
        title={session.state?.room.title ?? 'Loading room…'}
        role={session.state?.role ?? null}
        peers={shared.peers}
        me={me}
        onRename={rename}
        status={{ socket: session.connected, doc: shared.status }}
        onReconnect={() => {
          session.reconnect();
          shared.reconnect();
        }}
        links={session.state?.links ?? null}
        onReplaceLinks={async (which) => {
          // The new edit link becomes this page's address; holders of the replaced links are put out.
          const links = await session.replaceLinks(which);
          if (links) router.replace(`/r/${links.editToken}`);
        }}
      />
      {session.state && !session.state.room.modelAvailable && (
        <p className="error small" role="status" data-testid="model-missing">
          This room&apos;s {session.state.room.modelKind === 'diffusion' ? 'diffusion model' : 'model'} “{session.state.room.model}” is
          missing on this server: the timeline replays and exports its runs, but drags need the model back in the models
          directory (then Rescan models on the home page).
        </p>
      )}
      <main className="workspace">
        <div className="canvas-col">
          <div className="toolbar">
            <Segmented<Tool>
              value={tool}
              onChange={setTool}
              disabled={!canEdit}
              testId="tool"
              options={[
                { value: 'points', label: 'Points', title: 'Place and move points (P)' },
                { value: 'mask', label: 'Mask brush', title: 'Paint the flexible region (M)' },
              ]}
            />
            <span className="toolbar-hint muted small">
              {!canEdit
                ? 'You are watching: editing needs the edit link.'
                : busy
                  ? 'A run is in progress: editing is locked until it ends.'
                  : tool === 'points'
                    ? 'Click to add a handle, click again for its target. Drag to move. Ctrl+Z undoes.'
                    : `Paint the ${brushMode} region.`}
            </span>
          </div>
          <DragCanvas
            image={viewed ? viewed.bitmap : showFrame && frame ? frame.bitmap : session.image}
            size={size}
            pairs={pairs}
            strokes={shared.mask}
            showMask={showMask}
            tool={tool}
            brush={{ radius: radius || 1, mode: brushMode }}
            locked={locked}
            peers={shared.peers}
            onAddPoint={edit((d, p: Point) => me && addPoint(d, p, me))}
            onMovePoint={edit((d, id: string, which: 'handle' | 'target', p: Point) => movePoint(d, id, which, p))}
            onStroke={edit((d, s: Omit<MaskStroke, 'id'>) => addMaskStroke(d, { ...s, by: me?.id }, { size }))}
            onCursor={shared.setCursor}
          />
          <div className="statusline muted small">
            {session.state && (
              <>
                <span>model {session.state.room.model}</span>
                <span>seed {session.state.room.seed}</span>
                <span data-testid="room-size">{roomWidth}×{roomHeight}</span>
                {frame && <span data-testid="frame-info">frame {frame.bytes.toLocaleString()} B</span>}
              </>
            )}
          </div>
        </div>
        <aside className="sidebar">
          <RunPanel
            queue={session.queue}
            frame={frame}
            lastEnded={session.lastEnded}
            canEdit={canEdit}
            pairs={shared.points.filter((p) => p.target).length}
            onStart={session.start}
            onStop={session.stop}
          />
          <TimelinePanel history={history} token={token} canEdit={canEdit} busy={busy} onForked={(t) => router.push(`/r/${t}`)} />
          <PointsPanel points={shared.points} locked={locked} onUndo={edit(undoLastPoint)} onClear={edit(clearPoints)} />
          <MaskPanel
            strokes={shared.mask.length}
            hasFlexible={shared.mask.some((s) => s.mode === 'flexible')}
            diffusion={session.state?.room.modelKind === 'diffusion'}
            radius={radius || 1}
            maxRadius={Math.min(DOC_LIMITS.maxBrushRadius, Math.max(4, Math.round(shortSide / 4)))}
            mode={brushMode}
            show={showMask}
            locked={locked}
            onRadius={setRadius}
            onMode={(m) => {
              setBrushMode(m);
              setTool('mask');
            }}
            onShow={setShowMask}
            onClear={edit(clearMask)}
          />
          {session.state?.room.modelKind === 'diffusion' ? (
            <DiffusionSettingsPanel
              settings={shared.diffusionSettings}
              prompt={shared.diffusionPrompt}
              locked={locked}
              onChange={edit((d, p: Partial<DiffusionSettings>) => updateDiffusionSettings(d, p))}
              onPrompt={edit((d, p: string | null) => setDiffusionPrompt(d, p))}
            />
          ) : (
            <SettingsPanel settings={shared.settings} locked={locked} onChange={edit((d, p: Partial<RunSettings>) => updateSettings(d, p))} />
          )}
        </aside>
      </main>
      <Toasts toasts={toasts} />
    </div>
  );
}

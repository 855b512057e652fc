'use client';
/**
 * The room's timeline: the recorded runs (the newest page, older pages on demand), a scrubber
 * position (run + step) that only this viewer sees, replay at a chosen speed, fork, undo and redo. Stored steps are fetched one at a time and cached.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { HistoryPage, HistoryRun, HistoryStep, RoomLineage, RoomStorage, UndoRedo } from '../../contract/events';
import { decodeImage } from './images';
import { command, getSocket, request } from './socket';

export interface ViewedStep extends Omit<HistoryStep, 'image'> {
  bitmap: ImageBitmap;
}

export interface RoomHistoryView {
  /** The entries loaded so far, oldest first: the newest page and any older pages asked for. */
  runs: HistoryRun[];
  /** Entries in the whole timeline. */
  total: number;
  /** Whether older entries than those loaded exist. */
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder(): Promise<void>;
  lineage: RoomLineage | null;
  /** Whether Undo and Redo have a drag to act on. */
  undoRedo: UndoRedo;
  /** What the room holds in the server's store against its limit (as of the last timeline change). */
  storage: RoomStorage | null;
  /** The run and step under the scrubber, or null for "now" (the live room). */
  selected: { runId: string; step: number } | null;
  viewed: ViewedStep | null;
  playing: boolean;
  speed: number;
  select(sel: { runId: string; step: number } | null): void;
  setPlaying(p: boolean): void;
  setSpeed(fps: number): void;
  fork(): Promise<{ editToken: string } | null>;
  undo(): Promise<void>;
  redo(): Promise<void>;
}

const NOTHING: UndoRedo = { undo: null, redo: null };

/** The newest page replaces the entries it covers; older pages already loaded stay below it. */
function mergeNewest(loaded: HistoryRun[], page: HistoryRun[]): HistoryRun[] {
  const first = page[0]?.seq ?? Infinity;
  return [...loaded.filter((r) => r.seq < first), ...page];
}

export function useHistory(roomId: string | null, onError: (message: string) => void): RoomHistoryView {
  const [runs, setRuns] = useState<HistoryRun[]>([]);
  const [total, setTotal] = useState(0);
  // The cursor for the next older page: the newest page's until an older page is loaded, then that page's.
  const [older, setOlder] = useState<number | null>(null);
  const olderLoaded = useRef(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [lineage, setLineage] = useState<RoomLineage | null>(null);
  const [undoRedo, setUndoRedo] = useState<UndoRedo>(NOTHING);
  const [storage, setStorage] = useState<RoomStorage | null>(null);
  const [selected, setSelected] = useState<{ runId: string; step: number } | null>(null);
  const [viewed, setViewed] = useState<ViewedStep | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(10);
  const cache = useRef(new Map<string, Promise<ViewedStep>>());

  const refresh = useCallback(async () => {
    if (!roomId) return;
    try {
      const res: HistoryPage = await request('history:list', {});
      setRuns((loaded) => mergeNewest(loaded, res.runs));
      if (!olderLoaded.current) setOlder(res.older);
      setTotal(res.total);
      setLineage(res.lineage);
      setUndoRedo(res.undoRedo);
      setStorage(res.storage);
    } catch (err) {
      onError((err as Error).message);
    }
  }, [roomId, onError]);

  useEffect(() => {
    setSelected(null);
    setPlaying(false);
    setRuns([]);
    setTotal(0);
    setOlder(null);
    olderLoaded.current = false;
    setLineage(null);
    setUndoRedo(NOTHING);
    setStorage(null);
    if (!roomId) return;
    void refresh();
    const socket = getSocket();
    const onChanged = (u: { roomId: string }) => u.roomId === roomId && void refresh();
    socket.on('history:changed', onChanged);
    return () => {
      socket.off('history:changed', onChanged);
    };
  }, [roomId, refresh]);

  // Fetch and show the selected step (for this viewer only). Steps that kept only their latent are rendered
  // again by the server's workers (a fraction of a second at 512 px), so while one fetch is on its way a
  // scrub does not queue a render per step passed: once it lands, only the step selected by then is fetched.
  const inFlight = useRef<Promise<unknown> | null>(null);
  useEffect(() => {
    if (!selected) {
      setViewed(null);
      return;
    }
    const key = `${selected.runId}/${selected.step}`;
    let alive = true;
    const show = () => {
      if (!alive) return;
      let p = cache.current.get(key);
      if (!p) {
        p = request('history:step', selected).then(async ({ step }) => ({ ...step, bitmap: await decodeImage(step.image) }));
        p.catch(() => cache.current.delete(key));
        cache.current.set(key, p);
        const mine = p;
        inFlight.current = mine;
        void mine.catch(() => {}).finally(() => inFlight.current === mine && (inFlight.current = null));
      }
      p.then((v) => alive && setViewed(v)).catch((err) => alive && onError((err as Error).message));
    };
    const pending = cache.current.has(key) ? null : inFlight.current;
    if (pending) void pending.catch(() => {}).finally(show);
    else show();
    return () => {
      alive = false;
    };
  }, [selected, onError]);

  // Replay: advance the scrubber at `speed` steps per second, stopping at the run's last step.
  useEffect(() => {
    if (!playing || !selected) return;
    const run = runs.find((r) => r.runId === selected.runId);
    const last = Math.max(0, (run?.recorded ?? 1) - 1);
    if (selected.step >= last) {
      setPlaying(false);
      return;
    }
    const t = setTimeout(() => setSelected({ runId: selected.runId, step: selected.step + 1 }), 1000 / speed);
    return () => clearTimeout(t);
  }, [playing, selected, speed, runs]);

  const loadOlder = useCallback(async () => {
    if (older === null || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const res = await request('history:list', { before: older });
      olderLoaded.current = true;
      setRuns((loaded) => [...res.runs.filter((r) => r.seq < (loaded[0]?.seq ?? Infinity)), ...loaded]);
      setOlder(res.older);
      setTotal(res.total);
    } catch (err) {
      onError((err as Error).message);
    } finally {
      setLoadingOlder(false);
    }
  }, [older, loadingOlder, onError]);

  const fork = useCallback(async () => {
    if (!selected) return null;
    try {
      return await request('history:fork', selected);
    } catch (err) {
      onError((err as Error).message);
      return null;
    }
  }, [selected, onError]);

  const undo = useCallback(() => command('history:undo', onError), [onError]);

  const redo = useCallback(() => command('history:redo', onError), [onError]);

  return { runs, total, hasOlder: older !== null, loadingOlder, loadOlder, lineage, undoRedo, storage, selected, viewed, playing, speed, select: setSelected, setPlaying, setSpeed, fork, undo, redo };
}

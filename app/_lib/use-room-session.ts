'use client';
/**
 * The room over Socket.IO: joins with the link's token (again after every reconnect), keeps the room's
 * image, the run queue and the live frame. A frame is acknowledged only once it is decoded, which is what
 * lets the server skip frames for a client that cannot keep up.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Point, PublicUser, RoomState, RunEnded, RunFrame, RunQueueState } from '../../contract/events';
import { decodeImage } from './images';
import { RequestError, command, getSocket, request } from './socket';
import { rememberRoom } from './recent-rooms';

/** A run frame as the page holds it: the broadcast fields, decoded to a bitmap, with its encoded size. */
export type LiveFrame = Omit<RunFrame, 'roomId' | 'image'> & { bitmap: ImageBitmap; bytes: number };

export interface RoomSession {
  state: RoomState | null;
  image: ImageBitmap | null;
  queue: RunQueueState | null;
  frame: LiveFrame | null;
  lastEnded: RunEnded | null;
  connected: boolean;
  error: { code: string; message: string } | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Editors: replaces the watch link or both links; resolves with the new tokens (null if it failed). */
  replaceLinks(which: 'view' | 'both'): Promise<{ editToken: string; viewToken: string } | null>;
  reconnect(): void;
}

async function toLive(f: RunFrame): Promise<LiveFrame> {
  const bytes = f.image.bytes instanceof ArrayBuffer ? f.image.bytes.byteLength : f.image.bytes.byteLength;
  return { ...f, bitmap: await decodeImage(f.image), bytes };
}

export function useRoomSession(token: string, user: PublicUser | null, onError: (message: string) => void): RoomSession {
  const [state, setState] = useState<RoomState | null>(null);
  const [image, setImage] = useState<ImageBitmap | null>(null);
  const [queue, setQueue] = useState<RunQueueState | null>(null);
  const [frame, setFrame] = useState<LiveFrame | null>(null);
  const [lastEnded, setLastEnded] = useState<RunEnded | null>(null);
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const userRef = useRef(user);
  userRef.current = user;

  useEffect(() => {
    if (!user) return;
    const socket = getSocket();
    let alive = true;
    const join = async () => {
      try {
        const { state } = await request('room:join', { token, user: userRef.current! });
        if (!alive) return;
        setState(state);
        onQueue(state.runs);
        setError(null);
        setImage(await decodeImage(state.image));
        setFrame(state.liveFrame ? await toLive(state.liveFrame) : null);
        rememberRoom({ token, roomId: state.room.roomId, role: state.role, title: state.room.title });
      } catch (err) {
        const e = err as RequestError;
        if (alive) setError({ code: e.code ?? 'error', message: e.message });
      }
    };
    const onConnect = () => {
      setConnected(true);
      void join();
    };
    const onDisconnect = () => setConnected(false);
    // A join's answer can arrive after a newer broadcast state: keep the newest (see RunQueueState.version).
    const onQueue = (q: RunQueueState) => setQueue((prev) => (prev && prev.roomId === q.roomId && prev.version > q.version ? prev : q));
    const onRevoked = () => {
      if (alive) setError({ code: 'revoked', message: 'An editor replaced this link, so it no longer opens the room. Ask them for the new one.' });
    };
    const onFrame = (f: RunFrame, ack: () => void) => {
      toLive(f)
        .then((live) => alive && setFrame(live))
        .finally(ack);
    };
    const onImage = (u: { roomId: string; image: RoomState['image'] }) => {
      void decodeImage(u.image).then((b) => alive && setImage(b));
    };
    const onEnded = (e: RunEnded) => {
      setLastEnded(e);
      // The final frame stays up until the room's new image has arrived (it is sent just before this).
      setTimeout(() => alive && setFrame((f) => (f?.runId === e.runId ? null : f)), 150);
    };
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('run:frame', onFrame);
    socket.on('run:queue', onQueue);
    socket.on('run:ended', onEnded);
    socket.on('room:image', onImage);
    socket.on('room:revoked', onRevoked);
    if (socket.connected) onConnect();
    return () => {
      alive = false;
      socket.emit('room:leave');
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('run:frame', onFrame);
      socket.off('run:queue', onQueue);
      socket.off('run:ended', onEnded);
      socket.off('room:image', onImage);
      socket.off('room:revoked', onRevoked);
    };
    // Re-joining on a name change is not needed: presence comes from Yjs awareness.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token, user?.id]);

  const start = useCallback(() => command('run:start', onError), [onError]);

  const stop = useCallback(() => command('run:stop', onError), [onError]);

  const replaceLinks = useCallback(
    async (which: 'view' | 'both') => {
      try {
        return await request('room:rotate-links', { which });
      } catch (err) {
        onError((err as Error).message);
        return null;
      }
    },
    [onError],
  );

  const reconnect = useCallback(() => {
    const s = getSocket();
    if (!s.connected) s.connect();
  }, []);

  return { state, image, queue, frame, lastEnded, connected, error, start, stop, replaceLinks, reconnect };
}

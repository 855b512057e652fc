'use client';
/**
 * The room's Yjs document and presence: connects a y-websocket provider with the link's token and exposes
 * a plain snapshot (points, mask strokes, settings) that re-renders on every change, the peers' presence,
 * and the connection status.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Point, PublicUser } from '../../server/protocol/events';
import { YJS_PATH } from '../../server/protocol/events';
import { readMask, readPoints, readSettings, type PointPairView } from '../../server/protocol/room-doc';
import type { MaskStroke } from '../../server/protocol/mask';
import { DEFAULT_RUN_SETTINGS, type RunSettings } from '../../server/protocol/run-settings';

export interface Peer {
  clientId: number;
  user: PublicUser;
  cursor: Point | null;
  self: boolean;
}

export type DocStatus = 'connecting' | 'syncing' | 'live' | 'offline' | 'refused';

export interface SharedDocView {
  doc: Y.Doc | null;
  points: PointPairView[];
  mask: MaskStroke[];
  settings: RunSettings;
  peers: Peer[];
  status: DocStatus;
  setCursor(p: Point | null): void;
  reconnect(): void;
}

const CURSOR_INTERVAL_MS = 50;

export function useSharedDoc(roomId: string | null, token: string, user: PublicUser | null): SharedDocView {
  const [doc, setDoc] = useState<Y.Doc | null>(null);
  const [provider, setProvider] = useState<WebsocketProvider | null>(null);
  const [version, setVersion] = useState(0);
  const [peers, setPeers] = useState<Peer[]>([]);
  const [status, setStatus] = useState<DocStatus>('connecting');

  useEffect(() => {
    if (!roomId || !user) return;
    const d = new Y.Doc();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${YJS_PATH}`;
    const p = new WebsocketProvider(url, roomId, d, { params: { token }, maxBackoffTime: 5000 });
    const bump = () => setVersion((v) => v + 1);
    d.on('update', bump);
    const onAwareness = () => {
      const list: Peer[] = [];
      p.awareness.getStates().forEach((s, clientId) => {
        if (!s.user) return;
        list.push({ clientId, user: s.user, cursor: s.cursor ?? null, self: clientId === d.clientID });
      });
      setPeers(list);
    };
    p.awareness.on('change', onAwareness);
    p.on('status', ({ status }) => setStatus(status === 'connected' ? (p.synced ? 'live' : 'syncing') : status === 'connecting' ? 'connecting' : 'offline'));
    p.on('sync', (synced: boolean) => setStatus(synced ? 'live' : 'syncing'));
    p.on('closed', () => setStatus('refused'));
    setDoc(d);
    setProvider(p);
    return () => {
      p.destroy();
      d.destroy();
      setDoc(null);
      setProvider(null);
    };
  }, [roomId, token, user?.id]);

  // Presence follows name/colour edits without reconnecting.
  useEffect(() => {
    if (provider && user) provider.awareness.setLocalStateField('user', user);
  }, [provider, user]);

  const lastCursor = useRef({ at: 0, timer: 0 as unknown as ReturnType<typeof setTimeout> | 0, value: null as Point | null });
  const setCursor = useCallback(
    (pt: Point | null) => {
      if (!provider) return;
      const c = lastCursor.current;
      c.value = pt;
      const send = () => {
        c.at = performance.now();
        c.timer = 0;
        provider.awareness.setLocalStateField('cursor', c.value);
      };
      // Throttled to ~20 Hz, trailing edge kept so the last position always goes out.
      if (performance.now() - c.at >= CURSOR_INTERVAL_MS) send();
      else if (!c.timer) c.timer = setTimeout(send, CURSOR_INTERVAL_MS);
    },
    [provider],
  );

  const reconnect = useCallback(() => {
    provider?.connect();
  }, [provider]);

  const snapshot = useMemo(
    () => (doc ? { points: readPoints(doc), mask: readMask(doc), settings: readSettings(doc) } : { points: [], mask: [], settings: DEFAULT_RUN_SETTINGS }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [doc, version],
  );

  return { doc, ...snapshot, peers, status, setCursor, reconnect };
}

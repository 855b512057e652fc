'use client';
/**
 * The room's Yjs document and presence: connects a y-websocket provider with the link's token (as a
 * subprotocol, never in the URL: protocol/yjs-auth.ts) and exposes
 * a plain snapshot (points, mask strokes, settings) that re-renders on every change, the peers' presence,
 * and the connection status.
 *
 * When the server refuses one of our updates (close 4400, 4413: the room's document is full, or 1009: a message
 * over its size limit), the local document still holds the refused change and would send it again on every
 * reconnect: the document and provider are thrown away and the room is loaded afresh from the server;
 * `lastError` says why. When it closes us for pace (4408: we read too slowly, e.g. a throttled background tab;
 * 4420: we sent too fast), nothing was refused: we reconnect after a pause with the same document, and the
 * sync on connecting sends what the server missed.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { Point, PublicUser } from '../../contract/events';
import { YJS_PATH } from '../../contract/events';
import { yjsProtocols } from '../../contract/yjs-auth';
import { cleanDisplayText, MAX_NAME_GRAPHEMES } from '../../contract/display-text';
import { readDiffusionPrompt, readDiffusionSettings, readMask, readPoints, readSettings, type PointPairView } from '../../contract/room-doc';
import { DEFAULT_DIFFUSION_SETTINGS, type DiffusionSettings } from '../../contract/diffusion-settings';
import type { MaskStroke } from '../../contract/mask';
import { DEFAULT_RUN_SETTINGS, type RunSettings } from '../../contract/run-settings';
import {
  CLOSE_DOCUMENT_TOO_LARGE, CLOSE_FORBIDDEN, CLOSE_INVALID_UPDATE, CLOSE_MESSAGE_RATE, CLOSE_TOO_SLOW,
} from '../../contract/yjs-close-codes';

export interface Peer {
  clientId: number;
  user: PublicUser;
  cursor: Point | null;
  self: boolean;
}

/** 'refused': the link does not open this room (4401 and other 44xx); 'revoked': it did, but was revoked (4403). */
export type DocStatus = 'connecting' | 'syncing' | 'live' | 'offline' | 'refused' | 'revoked';

/** The standard code for a message over the server's size limit. */
const CLOSE_TOO_BIG = 1009;
/** Pause before reconnecting after a close for pace, so a client that is too fast or too slow does not loop. */
const PACE_RETRY_MS = 2000;

export interface DocError {
  code: number;
  /** For people: what happened and what was done about it. */
  message: string;
  at: number;
}

export interface SharedDocView {
  doc: Y.Doc | null;
  points: PointPairView[];
  mask: MaskStroke[];
  settings: RunSettings;
  /** A diffusion room's settings (its document's own map). */
  diffusionSettings: DiffusionSettings;
  /** A diffusion room's own prompt; undefined: the model card's applies. */
  diffusionPrompt: string | undefined;
  peers: Peer[];
  status: DocStatus;
  /** The last refused change (the local document was reloaded from the server), or null. */
  lastError: DocError | null;
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
  const [lastError, setLastError] = useState<DocError | null>(null);
  // Bumped to throw the document away and start again (after a refused update).
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (!roomId || !user) return;
    const d = new Y.Doc();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${YJS_PATH}`;
    const p = new WebsocketProvider(url, roomId, d, { protocols: yjsProtocols(token), maxBackoffTime: 5000 });
    const bump = () => setVersion((v) => v + 1);
    d.on('update', bump);
    const onAwareness = () => {
      const list: Peer[] = [];
      p.awareness.getStates().forEach((s, clientId) => {
        if (!s.user) return;
        // Presence is relayed as the peer sent it (the server checks only its size): its name is cleaned here, as the server cleans names at room:join.
        const name = cleanDisplayText(String(s.user.name ?? ''), MAX_NAME_GRAPHEMES) || 'Anonymous';
        list.push({ clientId, user: { ...s.user, name }, cursor: s.cursor ?? null, self: clientId === d.clientID });
      });
      setPeers(list);
    };
    p.awareness.on('change', onAwareness);
    p.on('status', ({ status }) => setStatus(status === 'connected' ? (p.synced ? 'live' : 'syncing') : status === 'connecting' ? 'connecting' : 'offline'));
    p.on('sync', (synced: boolean) => setStatus(synced ? 'live' : 'syncing'));
    let discarded = false;
    const discard = (code: number, message: string) => {
      if (discarded) return;
      discarded = true;
      p.disconnect();
      setLastError({ code, message, at: Date.now() });
      setStatus('connecting');
      setGeneration((g) => g + 1);
    };
    p.on('connection-close', (e: CloseEvent | null) => {
      if (e?.code === CLOSE_TOO_BIG) discard(e.code, 'Your last change was too large for the server, so it was dropped and the room reloaded.');
    });
    let paceRetry: ReturnType<typeof setTimeout> | undefined;
    p.on('closed', ({ code, reason }: { code: number; reason: string }) => {
      if (code === CLOSE_INVALID_UPDATE) discard(code, `The server refused your last change (${reason || 'invalid'}), so it was dropped and the room reloaded.`);
      else if (code === CLOSE_DOCUMENT_TOO_LARGE) discard(code, `The room's document is full (${reason || 'size limit'}), so your last change was dropped and the room reloaded.`);
      else if (code === CLOSE_TOO_SLOW || code === CLOSE_MESSAGE_RATE) {
        setStatus('connecting');
        paceRetry = setTimeout(() => p.connect(), PACE_RETRY_MS * (1 + Math.random()));
      } else setStatus(code === CLOSE_FORBIDDEN ? 'revoked' : 'refused');
    });
    setDoc(d);
    setProvider(p);
    return () => {
      clearTimeout(paceRetry);
      p.destroy();
      d.destroy();
      setDoc(null);
      setProvider(null);
    };
  }, [roomId, token, user?.id, generation]);

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
    () =>
      doc
        ? { points: readPoints(doc), mask: readMask(doc), settings: readSettings(doc), diffusionSettings: readDiffusionSettings(doc), diffusionPrompt: readDiffusionPrompt(doc) }
        : { points: [], mask: [], settings: DEFAULT_RUN_SETTINGS, diffusionSettings: DEFAULT_DIFFUSION_SETTINGS, diffusionPrompt: undefined },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [doc, version],
  );

  return { doc, ...snapshot, peers, status, lastError, setCursor, reconnect };
}

'use client';
/** Other people's pointers over the stage, with their names, in their colours. */
import type { Peer } from '../_lib/use-shared-doc';

export function PeerCursors({ peers, scale }: { peers: Peer[]; scale: number }) {
  return (
    <div className="peer-cursors" aria-hidden>
      {peers
        .filter((p) => !p.self && p.cursor)
        .map((p) => (
          <div
            key={p.clientId}
            className="peer-cursor"
            data-testid="peer-cursor"
            data-name={p.user.name}
            style={{ transform: `translate(${(p.cursor![0] + 0.5) * scale}px, ${(p.cursor![1] + 0.5) * scale}px)` }}
          >
            <svg width="18" height="18" viewBox="0 0 18 18">
              <path d="M1 1 L1 14 L5 10.5 L8 17 L10.5 16 L7.6 9.6 L13 9.6 Z" fill={p.user.color} stroke="#fff" strokeWidth="1.2" />
            </svg>
            <span className="peer-label" style={{ background: p.user.color }}>
              {p.user.name}
            </span>
          </div>
        ))}
    </div>
  );
}

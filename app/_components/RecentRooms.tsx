'use client';
/** Rooms this browser has opened, with their current image. */
import { useEffect, useState } from 'react';
import Link from 'next/link';
import type { Role, RoomSummary } from '../../contract/events';
import { forgetRoom, readRecentRooms, type RecentRoom } from '../_lib/recent-rooms';
import { request } from '../_lib/socket';
import { timeAgo } from '../_lib/images';

export function RecentRooms() {
  const [rooms, setRooms] = useState<(RecentRoom & { summary?: RoomSummary })[] | null>(null);

  useEffect(() => {
    const local = readRecentRooms();
    setRooms(local);
    if (local.length === 0) return;
    request('rooms:describe', { tokens: local.map((r) => r.token) })
      .then(({ rooms: found }) => {
        const byToken = new Map(found.map((f) => [f.token, f as { token: string; role: Role; room: RoomSummary }]));
        // Rooms the server no longer knows are dropped from the list.
        setRooms(local.filter((r) => byToken.has(r.token)).map((r) => ({ ...r, summary: byToken.get(r.token)!.room })));
      })
      .catch(() => {});
  }, []);

  return (
    <section className="card recent-card">
      <h2>Recent rooms</h2>
      {rooms === null ? null : rooms.length === 0 ? (
        <p className="muted">Rooms you create or open appear here. Share a room’s link to work on an image together.</p>
      ) : (
        <ul className="recent-grid" data-testid="recent-rooms">
          {rooms.map((r) => (
            <li key={r.token} className="recent-item">
              <Link href={`/r/${r.token}`} className="recent-link">
                <img src={`/api/rooms/${r.token}/image`} alt="" className="thumb" />
                <div className="recent-meta">
                  <span className="recent-title">{r.summary?.title ?? r.title}</span>
                  <span className="muted small">
                    <span className={`badge tiny ${r.role}`}>{r.role === 'edit' ? 'edit' : 'watch'}</span> {timeAgo(r.visitedAt)}
                  </span>
                </div>
              </Link>
              <button
                type="button"
                className="forget"
                title="Remove from this list"
                onClick={() => {
                  forgetRoom(r.token);
                  setRooms((rs) => rs?.filter((x) => x.token !== r.token) ?? null);
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

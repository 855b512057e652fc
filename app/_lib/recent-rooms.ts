'use client';
/** Rooms this browser created or opened, newest first. Kept locally: the server never lists other people's rooms. */
import type { Role } from '../../contract/events';

const KEY = 'stabledrag.recentRooms';
const MAX = 24;

export interface RecentRoom {
  token: string;
  /** Lets a fork tree (history:list, which carries no links) point at rooms this browser can open. */
  roomId?: string;
  role: Role;
  title: string;
  visitedAt: number;
}

export function readRecentRooms(): RecentRoom[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((r) => typeof r?.token === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberRoom(room: Omit<RecentRoom, 'visitedAt'>): void {
  const rest = readRecentRooms().filter((r) => r.token !== room.token);
  localStorage.setItem(KEY, JSON.stringify([{ ...room, visitedAt: Date.now() }, ...rest].slice(0, MAX)));
}

/** The link this browser holds for a room, the edit link if it has one. */
export function linkForRoom(roomId: string): string | null {
  const held = readRecentRooms().filter((r) => r.roomId === roomId);
  return (held.find((r) => r.role === 'edit') ?? held[0])?.token ?? null;
}

export function forgetRoom(token: string): void {
  localStorage.setItem(KEY, JSON.stringify(readRecentRooms().filter((r) => r.token !== token)));
}

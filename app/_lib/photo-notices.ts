'use client';
/**
 * What the server did to an uploaded photo (contract/photo-room.ts `notices`), carried from the home page to
 * the room it opens, where they are shown once: the upload's answer arrives on one page and is read on the next.
 */
const KEY = 'stabledrag.photoNotices';

export function keepPhotoNotices(token: string, notices: string[]): void {
  if (notices.length === 0) return;
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ token, notices }));
  } catch {
    // Storage refused (private mode, full): the notices are a courtesy.
  }
}

/** The notices kept for this room's link, removed as they are read. */
export function takePhotoNotices(token: string): string[] {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return [];
    const kept = JSON.parse(raw) as { token?: unknown; notices?: unknown };
    if (kept.token !== token || !Array.isArray(kept.notices)) return [];
    sessionStorage.removeItem(KEY);
    return kept.notices.filter((n): n is string => typeof n === 'string').slice(0, 8);
  } catch {
    return [];
  }
}

'use client';
/** Who "I" am in rooms: a name and colour kept in localStorage (no accounts; the link is the credential). */
import { useCallback, useEffect, useState } from 'react';
import type { PublicUser } from '../../contract/events';

const KEY = 'stabledrag.identity';
export const PALETTE = ['#e5484d', '#f76b15', '#ffc53d', '#46a758', '#12a594', '#0090ff', '#6e56cf', '#d6409f'];
const ADJECTIVES = ['Curious', 'Swift', 'Quiet', 'Bright', 'Bold', 'Gentle', 'Clever', 'Lucky', 'Sunny', 'Brave'];
const ANIMALS = ['Otter', 'Falcon', 'Lynx', 'Heron', 'Fox', 'Panda', 'Koala', 'Orca', 'Wren', 'Badger'];

const pick = <T,>(a: T[]) => a[Math.floor(Math.random() * a.length)];

function fresh(): PublicUser {
  return { id: crypto.randomUUID(), name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(PALETTE) };
}

function load(): PublicUser {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (v && typeof v.id === 'string' && typeof v.name === 'string' && typeof v.color === 'string') return v;
  } catch {
    /* a corrupt entry is replaced */
  }
  const u = fresh();
  localStorage.setItem(KEY, JSON.stringify(u));
  return u;
}

/** The identity, null until mounted (localStorage does not exist during server rendering). */
export function useIdentity(): [PublicUser | null, (patch: Partial<Pick<PublicUser, 'name' | 'color'>>) => void] {
  const [user, setUser] = useState<PublicUser | null>(null);
  useEffect(() => setUser(load()), []);
  const update = useCallback((patch: Partial<Pick<PublicUser, 'name' | 'color'>>) => {
    setUser((u) => {
      if (!u) return u;
      const next = { ...u, ...patch, name: (patch.name ?? u.name).slice(0, 40) || u.name };
      localStorage.setItem(KEY, JSON.stringify(next));
      return next;
    });
  }, []);
  return [user, update];
}

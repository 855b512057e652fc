/** What the fuzzer knows of the server under test: real room ids and links, so its inputs get past the first checks. */
export interface FuzzTargets {
  /** The room the well-behaved clients edit. Fuzz inputs get its watch link everywhere and its edit link only on Yjs, where the validator stands guard (Socket.IO's `room:rotate-links` would legitimately lock the well-behaved clients out). */
  calmRoomId: string;
  calmEditToken: string;
  calmViewToken: string;
  /** A room only the fuzzer uses, with both links. */
  fuzzRoomId: string;
  fuzzEditToken: string;
  fuzzViewToken: string;
  /** Runs recorded in the calm room (its first run starts before the first fuzz input). */
  runIds: string[];
}

/** Tokens a Socket.IO fuzz input may present (never the calm room's edit link), plus nonsense. */
export function socketTokens(t: FuzzTargets): string[] {
  return [t.calmViewToken, t.fuzzEditToken, t.fuzzViewToken, '', 'x', t.fuzzEditToken + 'x', 'A'.repeat(300)];
}

/** Tokens a Yjs or HTTP fuzz input may present. */
export function anyTokens(t: FuzzTargets): string[] {
  return [...socketTokens(t), t.calmEditToken];
}

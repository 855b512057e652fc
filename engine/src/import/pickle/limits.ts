/** Bounds on what a pickle may make the interpreter hold, so a hostile file fails fast instead of exhausting memory. */
export interface PickleLimits {
  /** Largest memo index a PUT may use, and most entries the memo may hold. */
  maxMemo: number;
  /** Most values on the stack at once. */
  maxStack: number;
  /** Most open MARKs at once (nesting depth of tuples/lists/dicts under construction). */
  maxMarks: number;
  /** Most items in one list, dict or set. */
  maxContainer: number;
  /** Strings and bytes longer than this are left in the file as (offset, length) instead of copied. */
  lazyThreshold: number;
  /** Longest string that may be decoded into memory (names, module sources, lazily kept text). */
  maxString: number;
}

export const DEFAULT_LIMITS: PickleLimits = {
  maxMemo: 1 << 22,
  maxStack: 100_000,
  maxMarks: 1000,
  maxContainer: 10_000_000,
  lazyThreshold: 64 * 1024,
  maxString: 16 * 1024 * 1024,
};

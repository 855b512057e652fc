/**
 * Resolves on a later turn of the event loop (after timers and I/O that are due). Database calls through
 * better-sqlite3 complete synchronously, so a request's queries, and those of requests arriving together,
 * would otherwise run back to back in one turn; heavy steps await this between them.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

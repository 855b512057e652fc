/**
 * REDIS_URL: the Redis that joins processes into one cluster (Socket.IO fan-out, Yjs relay, the BullMQ run
 * queue). Unset keeps everything in one process. Refused when it is not a redis:// or rediss:// URL with a
 * host, rather than silently running each node on its own and splitting rooms between them.
 */
const REDIS_SCHEMES = new Set(['redis:', 'rediss:']);

export function parseRedisUrl(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const expected = 'expected redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://..., or leave REDIS_URL unset to run as one process';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`REDIS_URL is not a URL (${expected})`);
  }
  if (!REDIS_SCHEMES.has(url.protocol)) throw new Error(`REDIS_URL: unsupported scheme '${url.protocol.replace(/:$/, '')}' (${expected})`);
  if (!url.hostname) throw new Error(`REDIS_URL names no host (${expected})`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new Error(`REDIS_URL: '${db}' is not a database number (${expected})`);
  return text;
}

/** The Redis URL in a log line, without its password. */
export function describeRedisUrl(text: string): string {
  const url = new URL(text);
  if (url.password) url.password = '***';
  return url.toString();
}

/**
 * The address a request comes from, for per-address limits (connections, quotas). Behind a reverse proxy
 * every request arrives from the proxy, so with trusted proxies configured (STABLEDRAG_TRUSTED_PROXIES)
 * the client is read from X-Forwarded-For: the right-most hop that is not itself a trusted proxy. Hops to
 * its left were written by the client and prove nothing; without trusted proxies the header is ignored, as
 * anyone can send it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Addresses and CIDR ranges of the proxies whose X-Forwarded-For is believed. */
export interface TrustedProxies {
  readonly size: number;
  has(address: string): boolean;
}

/** "10.0.0.1, 10.1.0.0/16, ::1" (commas or spaces); an entry that is not an address or range is an error at start. */
export function parseTrustedProxies(spec: string | undefined): TrustedProxies {
  const list = new BlockList();
  const entries = (spec ?? '').split(/[\s,]+/).filter(Boolean);
  for (const entry of entries) {
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!family || extra !== undefined || (bits !== undefined && !/^\d+$/.test(bits)) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new Error(`STABLEDRAG_TRUSTED_PROXIES: '${entry}' is not an address or a CIDR range`);
    }
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    size: entries.length,
    has: (address) => {
      const a = plainAddress(address);
      const family = isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

export const NO_TRUSTED_PROXIES: TrustedProxies = parseTrustedProxies('');

/** The client's address for a request (an HTTP request, a websocket upgrade, a Socket.IO handshake's `request`). */
export function clientAddress(req: { socket: { remoteAddress?: string }; headers: IncomingHttpHeaders }, trusted: TrustedProxies): string {
  let address = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted.size === 0 || !trusted.has(address)) return address;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]);
    // A hop that is no address (a misconfigured proxy): the last proxy that spoke is the best we know.
    if (!isIP(hop)) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}

/** IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; limits and proxy lists speak plain IPv4. */
function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/**
 * How a Yjs connection carries its room link's token: as a websocket subprotocol, never in the URL, so it
 * stays out of access logs, proxies' logs and browser history (the same way Kubernetes carries bearer
 * tokens on websockets). The client offers two subprotocols, the fixed name first and the token second;
 * the server selects the fixed name, so the token is not echoed back either.
 */

/** The subprotocol the server selects for Yjs connections. */
export const YJS_SUBPROTOCOL = 'stabledrag.yjs';
const TOKEN_PREFIX = 'stabledrag.token.';
/** Subprotocols are RFC 7230 tokens; link tokens are base64url, so anything else is no token at all. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;

/** The subprotocols a client offers for `token`. A malformed token is left out (the server then refuses with 4401) rather than passed to `new WebSocket`, which would throw on it. */
export function yjsProtocols(token: string): string[] {
  return TOKEN_SHAPE.test(token) ? [YJS_SUBPROTOCOL, TOKEN_PREFIX + token] : [YJS_SUBPROTOCOL];
}

/** The token among the subprotocols a client offered, or null. */
export function tokenFromProtocols(offered: Iterable<string>): string | null {
  for (const p of offered) {
    if (!p.startsWith(TOKEN_PREFIX)) continue;
    const token = p.slice(TOKEN_PREFIX.length);
    if (TOKEN_SHAPE.test(token)) return token;
  }
  return null;
}

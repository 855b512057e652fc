/**
 * Headers on every response the studio writes (its own routes, Socket.IO's HTTP answers, refused upgrades)
 * and on the Next.js pages (set before Next handles the request; Next keeps headers already set).
 */

/**
 * Everything from this origin only; nothing may frame the app. Next's App Router hydrates through inline
 * `<script>` tags (`self.__next_f.push(...)`) whose content changes per page, so without a per-request
 * nonce (which would make every page dynamic) script-src needs 'unsafe-inline'. React renders `style={...}`
 * props as inline style attributes in the server HTML, so style-src needs it too. Images are same-origin,
 * `data:` (Next's placeholders) or `blob:` (frames and room images, app/_lib/images.ts). CSP 3 lets
 * 'self' in connect-src cover the same host's ws:/wss: (Socket.IO, Yjs), but older Safari does not, so the
 * request's own host is named for websockets too when it is known. Dev adds 'unsafe-eval', which React's
 * development build and Next's hot reload use.
 */
export function contentSecurityPolicy(dev = false, host?: string): string {
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A Host header that is a plain host[:port] (anything else is left out of the policy). */
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function securityHeaders(dev = false, host?: string): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(dev, host),
    'x-content-type-options': 'nosniff',
    // Room links carry their token in the path: a referrer would hand it to whatever a page links to.
    'referrer-policy': 'no-referrer',
    // frame-ancestors for browsers without CSP level 2.
    'x-frame-options': 'DENY',
  };
}

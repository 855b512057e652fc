/** The Next.js app as a request handler for the studio's own HTTP server (production build or dev). */
import next from 'next';
import type { NextAppHandle } from './studio-server.js';

export async function createNextApp(opts: { dir: string; dev: boolean; port: number; hostname?: string }): Promise<NextAppHandle> {
  const app = next({ dev: opts.dev, dir: opts.dir, port: opts.port, hostname: opts.hostname ?? 'localhost' });
  await app.prepare();
  const handle = app.getRequestHandler();
  const upgrade = opts.dev ? app.getUpgradeHandler() : undefined;
  return {
    handle: (req, res) => handle(req, res),
    // Not awaited by the upgrade listener: a rejection here would otherwise be unhandled and end the process.
    upgrade: upgrade
      ? (req, socket, head) =>
          void Promise.resolve(upgrade(req, socket, head)).catch((err) => {
            console.error('[next] upgrade failed:', err);
            socket.destroy();
          })
      : undefined,
    close: () => app.close(),
  };
}

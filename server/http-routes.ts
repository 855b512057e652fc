/**
 * The few plain HTTP routes the server answers itself (everything else goes to Next):
 *   GET /api/rooms/<token>/image   the room's current image (home page thumbnails, downloads)
 *   GET /api/health                liveness
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomStore } from './rooms/room-store.js';

export function createApiHandler(store: RoomStore) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return true;
    }
    const m = /^\/api\/rooms\/([A-Za-z0-9_-]+)\/image$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return false;
    const found = await store.findByToken(m[1]);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return true;
    }
    res.writeHead(200, {
      'content-type': found.room.imageType,
      'cache-control': 'no-cache',
      'content-length': found.room.image.byteLength,
    });
    res.end(Buffer.from(found.room.image));
    return true;
  };
}

/**
 * DocServer hooks for rooms: a Yjs connection must carry the room's edit or view token (view: read-only),
 * and documents are loaded from and stored to the RoomStore.
 */
import * as Y from 'yjs';
import type { DocServerHooks } from '../yjs/doc-server.js';
import type { RoomStore } from './room-store.js';

export function roomDocHooks(store: RoomStore, opts: { onRefusedWrite?: (roomId: string) => void } = {}): DocServerHooks {
  return {
    async onAuthenticate({ documentName, params }) {
      const found = await store.findByToken(params.get('token') ?? '');
      if (!found || found.room.id !== documentName) return null;
      return { readOnly: found.role === 'view' };
    },
    async onLoadDocument({ documentName, document }) {
      const room = await store.get(documentName);
      if (!room) throw new Error('room not found');
      const state = await store.loadDocument(documentName);
      // A new room's document stays empty: readSettings() falls back to the defaults on every peer alike.
      if (state) Y.applyUpdate(document, state);
    },
    async onStoreDocument({ documentName, document }) {
      await store.storeDocument(documentName, Y.encodeStateAsUpdate(document));
    },
    onRefusedWrite({ documentName }) {
      opts.onRefusedWrite?.(documentName);
    },
  };
}

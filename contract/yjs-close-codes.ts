/**
 * The close codes of the Yjs websocket (server/yjs), shared with the app, which decides on them whether to
 * reconnect, reload the room or give up. No Node APIs.
 *
 * Codes in the 4400 range tell y-websocket clients not to reconnect (Hocuspocus uses the same idea); the app
 * reconnects by itself where that helps (4408, 4420).
 */
/** An update the document's checks refused (`beforeApplyUpdate`, or it needs changes the document lacks); nothing of it was applied. */
export const CLOSE_INVALID_UPDATE = 4400;
export const CLOSE_UNAUTHORIZED = 4401;
/** The link the connection was opened with is no longer valid (e.g. rotated); see `DocServer.disconnect`. */
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
/** The peer left more than `maxBufferedBytes` unread (a reader too slow, or one that never reads); it may reconnect and sync. */
export const CLOSE_TOO_SLOW = 4408;
/** An update would take the document past `maxDocumentBytes`; nothing of it was applied. */
export const CLOSE_DOCUMENT_TOO_LARGE = 4413;
/** The connection sent more messages than its budget (`messagesPerSecond`, `messageBurst`); the message over it was not handled. */
export const CLOSE_MESSAGE_RATE = 4420;
/** Too many new connections from one address (`onConnect` refused it). */
export const CLOSE_TOO_MANY = 4429;
export const CLOSE_SERVER_SHUTDOWN = 4503;


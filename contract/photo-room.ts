/**
 * Creating a room from a photo: one HTTP request (the photo is too large for a Socket.IO message), answered
 * with the new room's links, the inversion queued as its first run. The app and the server both read this.
 *
 *   POST PHOTO_ROOM_PATH?model=<id>&crop=<left>,<top>,<width>,<height>&title=<text>&<inversion settings>
 *   body: the file's bytes as they are (any content type; the type is read from the bytes)
 *
 * `crop` is in the upright photo's pixels (after EXIF orientation) and should have the model's aspect ratio;
 * absent, the largest centred rectangle of that ratio. Inversion settings are named as in
 * INVERT_SETTINGS_SCHEMA (wSteps=..., loss=...), absent ones take their defaults.
 */
import type { ErrorInfo } from './events.js';

export const PHOTO_ROOM_PATH = '/api/rooms/from-photo';

export const PHOTO_LIMITS = {
  /** Largest file, bytes: refused while the body streams in, before the rest is read. */
  maxBytes: 20 * 1024 * 1024,
  /** Largest photo, pixels (width x height from its header, checked before anything is decoded). */
  maxPixels: 40_000_000,
  /** How far a crop's aspect ratio may stray from the model's (rounding to whole pixels). */
  aspectTolerance: 0.02,
  /** The types accepted, read from the file's first bytes. */
  types: ['image/png', 'image/jpeg', 'image/webp'],
} as const;

/**
 * Error codes of a refused photo (with the HTTP status): 'invalid-image' (400: corrupt, not PNG/JPEG/WebP,
 * over PHOTO_LIMITS.maxPixels), 'too-large' (413: over maxBytes), 'too-slow' (408: the body did not arrive in time), 'invalid-crop' (400), 'invalid' (400: an
 * unknown model, a bad setting), 'limit' (429: too many new rooms or runs from this address), 'busy' (503: the
 * server's queues are full), 'model-unavailable' (409), 'internal' (500). 'limit' and 'busy' say when to retry.
 * Nothing is created when a request is refused.
 */
export type PhotoRoomErrorCode = 'invalid-image' | 'too-large' | 'too-slow' | 'invalid-crop' | 'invalid' | 'limit' | 'busy' | 'model-unavailable' | 'internal';

export interface PhotoRoomCreated {
  ok: true;
  roomId: string;
  editToken: string;
  viewToken: string;
  /** The inversion's run (the room's first timeline entry); null for a diffusion model's room (its drags invert the photo). */
  runId: string | null;
  /** The crop used, in the upright photo's pixels. */
  crop: { left: number; top: number; width: number; height: number };
  /** Conversions applied worth telling the user (an animated WebP's first frame, transparency over white). */
  notices: string[];
}

export interface PhotoRoomRefused {
  ok: false;
  error: ErrorInfo & { code: PhotoRoomErrorCode };
}

export type PhotoRoomAnswer = PhotoRoomCreated | PhotoRoomRefused;

/** The crop as the query string carries it. */
export function formatCrop(c: { left: number; top: number; width: number; height: number }): string {
  return `${c.left},${c.top},${c.width},${c.height}`;
}

/**
 * A suggested crop for a photo, for a faces model: the landmark detector's search (engine/src/landmarks/
 * face-crop.ts) on the server's workers. The app asks once a photo is chosen for such a model and starts its
 * crop there, labelled as a suggestion; other models start centred.
 *
 *   POST FACE_CROP_PATH?model=<id>      body: the file's bytes, as for PHOTO_ROOM_PATH (same limits)
 */
export const FACE_CROP_PATH = '/api/photos/face-crop';

/** Whether the server suggests a crop for photos of this model (a faces model: what the detector knows). */
export function offersFaceCrop(model: { domain?: string }): boolean {
  return model.domain === 'faces';
}

export interface FaceCropSuggested {
  ok: true;
  /** The best-framed face in the upright photo's pixels, with the model's aspect ratio, inside the photo. */
  crop: { left: number; top: number; width: number; height: number };
  /** 0..1: how well the detector's landmarks stayed put when the crop was moved (a face does, anything else not). */
  confidence: number;
  /** Whether `confidence` is enough to call it a face; false: the app keeps the centred crop and says none was found. */
  confident: boolean;
}

export type FaceCropAnswer = FaceCropSuggested | PhotoRoomRefused;

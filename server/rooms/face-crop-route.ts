/**
 * POST FACE_CROP_PATH (contract/photo-room.ts): a suggested crop of a photo for a faces model. The body is read
 * under the photo upload's bounds (size while it streams, time, a shared slot count), decoded by libvips shrunk
 * to SEARCH_SIDE, and searched by the landmark detector on a worker as a short job (queued fairly by address
 * with the renders, so a busy server answers 503; an address has its own quota of them, ServerLimits
 * faceCropsPerMinute); the event loop never runs the search.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FACE_CROP_PATH, offersFaceCrop, PHOTO_LIMITS } from '../../contract/photo-room.js';
import { decodeImage } from '../../engine/src/io/image-input.js';
// Type-only imports inside: no tfjs on the main thread (module-boundaries.test.ts).
import { FACE_CROP_CONFIDENT } from '../../engine/src/landmarks/face-crop.js';
import { ExportSlots } from '../export-slots.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { ServerLimits } from '../limits.js';
import { PhotoRefusal, readBody, send, sendRefusal } from './photo-room-route.js';
import type { RoomService } from './room-service.js';
import { spendQuota, type AddressQuotas } from '../realtime/address-quotas.js';

export interface FaceCropDeps {
  rooms: RoomService;
  jobs: JobQueue;
  quotas: Pick<AddressQuotas, 'faceCrop'>;
  limits: Pick<ServerLimits, 'photoUploadsInFlight' | 'photoUploadSeconds'>;
  clientAddress: (req: IncomingMessage) => string;
}

/**
 * The searched image's longer side, px. The search looks for faces of at least a fifth of the shorter side
 * (face-crop.ts SCALES), which at this size are still ~100 px, near the detector's 128 px input.
 */
const SEARCH_SIDE = 640;

type Rect = { left: number; top: number; width: number; height: number };

/** The square `window` (search pixels) as a crop of the photo with the model's aspect, moved and shrunk to fit. */
export function photoCrop(window: { left: number; top: number; side: number }, scale: number, photo: { width: number; height: number }, aspect: number): Rect {
  const cx = (window.left + window.side / 2) / scale;
  const cy = (window.top + window.side / 2) / scale;
  let height = window.side / scale;
  let width = height * aspect;
  const shrink = Math.min(1, photo.width / width, photo.height / height);
  width = Math.max(1, Math.floor(width * shrink));
  height = Math.max(1, Math.min(photo.height, Math.round(width / aspect)));
  const left = Math.round(Math.min(photo.width - width, Math.max(0, cx - width / 2)));
  const top = Math.round(Math.min(photo.height - height, Math.max(0, cy - height / 2)));
  return { left, top, width, height };
}

export function createFaceCropHandler(deps: FaceCropDeps) {
  const slots = new ExportSlots(deps.limits.photoUploadsInFlight);
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== FACE_CROP_PATH) return false;
    let bodyRead = false;
    try {
      if (req.method !== 'POST') throw new PhotoRefusal('invalid', `${FACE_CROP_PATH} takes a POST with the photo as its body`);
      const model = deps.rooms.offeredModel(url.searchParams.get('model'));
      if (!offersFaceCrop(model)) throw new PhotoRefusal('invalid', `${model.label} is not a faces model: its crop starts centred`);
      const faceCrop = deps.jobs.faceCrop?.bind(deps.jobs);
      if (!faceCrop) throw new PhotoRefusal('model-unavailable', 'this server does not suggest crops (its jobs run elsewhere); the crop starts centred');
      const caller = deps.clientAddress(req);
      const done = await slots.run(async () => {
        spendQuota(deps.quotas.faceCrop, caller, 'suggested crops');
        const bytes = await readBody(req, PHOTO_LIMITS.maxBytes, deps.limits.photoUploadSeconds);
        bodyRead = true;
        const { image, info, scale } = await decodeImage(bytes, SEARCH_SIDE);
        const rgba = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
        const found = await faceCrop({ width: image.width, height: image.height, rgba }, { caller });
        return { crop: photoCrop(found.window, scale, info, model.width / model.height), confidence: found.confidence };
      });
      if (!done) throw new PhotoRefusal('busy', `the server is receiving ${deps.limits.photoUploadsInFlight} photos; try again in 2 s`, 2);
      const { crop, confidence } = done.value;
      send(res, 200, { ok: true, crop, confidence, confident: confidence >= FACE_CROP_CONFIDENT }, false);
    } catch (err) {
      await sendRefusal(req, res, err, bodyRead, deps.limits.photoUploadSeconds);
    }
    return true;
  };
}

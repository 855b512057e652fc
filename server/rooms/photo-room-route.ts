/**
 * POST PHOTO_ROOM_PATH (contract/photo-room.ts): a new room from an uploaded photo, its inversion queued as its
 * first run. Everything cheap is checked before the body is read (the model, the crop's shape and aspect, the
 * settings, the address's room quota, a free upload slot), the body's size while it streams in (a larger body is
 * refused at the byte that crosses the limit, and its connection closed, so nobody can make the server read
 * forever), then the file itself by engine/src/io/image-input.ts: the type from its bytes, the size from its
 * header before any pixel is decoded (decompression bombs), then one libvips pipeline to the model's size.
 * A refusal creates nothing: the room is only made once the photo is fitted, and is deleted again if its
 * inversion cannot be queued. A diffusion model's room is the fitted photo alone (no inversion run).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PublicUser } from '../../contract/events.js';
import { PHOTO_LIMITS, PHOTO_ROOM_PATH, type FaceCropAnswer, type PhotoRoomAnswer, type PhotoRoomErrorCode } from '../../contract/photo-room.js';
import { INVERT_SETTINGS_SCHEMA, invertSettingsProblem, parseInvertSettings, type InvertSettingKey } from '../../contract/invert-settings.js';
import { fitImage, probeImage, type CropRect, type ImageInfo } from '../../engine/src/io/image-input.js';
import { ImageInputError } from '../../engine/src/errors.js';
import { encodeImage } from '../jobs/frame-encoder.js';
import { BusyError } from '../jobs/job-queue.js';
import { spendQuota, type AddressQuotas } from '../realtime/address-quotas.js';
import { ExportSlots } from '../export-slots.js';
import type { ServerLimits } from '../limits.js';
import type { RunCoordinator } from '../runs/run-coordinator.js';
import type { RoomStore } from './room-store.js';
import type { DocServer } from '../yjs/doc-server.js';
import { updateDiffusionSettings } from '../../contract/room-doc.js';
import type { DiffusionSettings } from '../../contract/diffusion-settings.js';
import { RoomError, type RoomService } from './room-service.js';

export interface PhotoRoomDeps {
  rooms: RoomService;
  runs: RunCoordinator;
  store: RoomStore;
  docs: Pick<DocServer, 'acquire' | 'release'>;
  quotas: Pick<AddressQuotas, 'roomCreate'>;
  limits: Pick<ServerLimits, 'photoUploadsInFlight' | 'photoUploadSeconds'>;
  clientAddress: (req: IncomingMessage) => string;
}

/** Who the timeline and the queue say started a photo's inversion (an upload has no room member yet). */
const PHOTO_USER: PublicUser = { id: 'photo', name: 'Photo upload', color: '#888888' };

export class PhotoRefusal extends Error {
  constructor(readonly code: PhotoRoomErrorCode, message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

const STATUS: Record<PhotoRoomErrorCode, number> = {
  'invalid-image': 400, 'too-large': 413, 'too-slow': 408, 'invalid-crop': 400, invalid: 400, limit: 429, busy: 503, 'model-unavailable': 409, internal: 500,
};

/** How long a refused upload's connection stays open for its answer to be read before it is destroyed. */
const CLOSE_AFTER_MS = 1000;
const DECIMAL = /^-?\d{1,12}(\.\d{1,12})?(e-?\d{1,3})?$/i;

function parseCrop(raw: string | null): CropRect | undefined {
  if (raw === null) return undefined;
  const m = /^(\d{1,9}),(\d{1,9}),(\d{1,9}),(\d{1,9})$/.exec(raw);
  if (!m) throw new PhotoRefusal('invalid-crop', 'crop must be left,top,width,height in whole pixels');
  const [left, top, width, height] = m.slice(1).map(Number);
  if (width < 1 || height < 1) throw new PhotoRefusal('invalid-crop', 'the crop rectangle is empty');
  return { left, top, width, height };
}

function checkAspect(crop: CropRect, model: { width: number; height: number }): void {
  const want = model.width / model.height;
  const got = crop.width / crop.height;
  // Whole pixels: a crop a pixel off the exact ratio is fine, a different shape is a mistake (it would stretch).
  const slack = PHOTO_LIMITS.aspectTolerance + 1 / Math.min(crop.width, crop.height);
  if (Math.abs(got / want - 1) > slack) {
    throw new PhotoRefusal('invalid-crop', `the crop ${crop.width}x${crop.height} does not have the model's aspect ratio (${model.width}:${model.height})`);
  }
}

function parseSettings(url: URL) {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) {
    if (key === 'model' || key === 'title' || key === 'crop') continue;
    const spec = Object.hasOwn(INVERT_SETTINGS_SCHEMA, key) ? INVERT_SETTINGS_SCHEMA[key as InvertSettingKey] : undefined;
    raw[key] = spec?.type === 'number' ? (DECIMAL.test(value) ? Number(value) : value) : value;
  }
  const parsed = parseInvertSettings(raw);
  if (!parsed.ok) throw new PhotoRefusal('invalid', parsed.message);
  return parsed.settings;
}

/**
 * The body, or a refusal as soon as it passes `max` bytes (the rest is never read) or `seconds` pass. With
 * `keep` false the bytes are thrown away as they come (a request refused before its body was read is read to
 * its end all the same, so its connection can carry the next request).
 */
export function readBody(req: IncomingMessage, max: number, seconds: number, keep = true): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => new PhotoRefusal('too-large', `the file is larger than ${max / (1024 * 1024)} MB; at most ${max / (1024 * 1024)} MB is accepted`);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      if (keep) chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(keep ? new Uint8Array(Buffer.concat(chunks, total)) : new Uint8Array(0));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const deadline = setTimeout(() => {
      cleanup();
      req.pause();
      reject(new PhotoRefusal('too-slow', `the photo did not arrive within ${seconds} s`));
    }, seconds * 1000);
    const cleanup = () => {
      clearTimeout(deadline);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function notices(info: ImageInfo): string[] {
  const out: string[] = [];
  if (info.frames > 1) out.push(`the WebP is animated (${info.frames} frames): its first frame was used`);
  if (info.hasAlpha) out.push('transparent parts were filled with white');
  if (info.space === 'cmyk') out.push('the CMYK colours were converted to RGB');
  if (info.orientation !== 1) out.push('the photo was turned upright (EXIF orientation)');
  return out;
}

export function send(res: ServerResponse, status: number, answer: PhotoRoomAnswer | FaceCropAnswer, closeConnection: boolean, retryAfter?: number): void {
  const body = JSON.stringify(answer);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
  });
  res.end(body);
  // A body cut off (too large, too slow) is never read to its end: its connection is destroyed a moment after
  // the answer. Not at once (nor with 'Connection: close', which ends the socket as soon as the answer is
  // written): a client still sending would get a broken pipe before it reads the answer; the request stays
  // paused meanwhile, so the sender just waits.
  if (closeConnection) res.once('finish', () => setTimeout(() => res.req.socket?.destroy(), CLOSE_AFTER_MS).unref());
}

/**
 * Answers a refused photo request. A body not read yet is drained first (without keeping it), so a client still
 * sending gets the answer instead of a broken pipe; a body cut off for its size or slowness ends its connection.
 */
export async function sendRefusal(req: IncomingMessage, res: ServerResponse, err: unknown, bodyRead: boolean, uploadSeconds: number): Promise<void> {
  const r = asRefusal(err);
  let cut = r.code === 'too-large' || r.code === 'too-slow';
  if (!bodyRead && !cut) cut = !(await readBody(req, PHOTO_LIMITS.maxBytes, uploadSeconds, false).then(() => true, () => false));
  send(res, STATUS[r.code], { ok: false, error: { code: r.code, message: r.message, ...(r.retryAfterSeconds !== undefined ? { retryAfterSeconds: r.retryAfterSeconds } : {}) } }, cut, r.retryAfterSeconds);
}

function asRefusal(err: unknown): PhotoRefusal {
  if (err instanceof PhotoRefusal) return err;
  if (err instanceof ImageInputError) return new PhotoRefusal('invalid-image', err.message);
  if (err instanceof BusyError) return new PhotoRefusal('busy', err.message, err.retryAfterSeconds);
  if (err instanceof RoomError) {
    if (err.code === 'storage-full') return new PhotoRefusal('limit', err.message);
    const code: PhotoRoomErrorCode = err.code === 'limit' || err.code === 'busy' || err.code === 'model-unavailable' || err.code === 'invalid' ? err.code : 'internal';
    return new PhotoRefusal(code, err.message, err.retryAfterSeconds);
  }
  console.error('[photo-room] creating a room from a photo failed:', err);
  return new PhotoRefusal('internal', 'the room could not be created');
}

/** Writes a model card's settings into a new diffusion room's document; the room is deleted if that fails. */
async function seedDiffusionSettings(deps: PhotoRoomDeps, roomId: string, settings: Partial<DiffusionSettings>): Promise<void> {
  if (Object.keys(settings).length === 0) return;
  try {
    const doc = await deps.docs.acquire(roomId);
    try {
      updateDiffusionSettings(doc, settings);
    } finally {
      deps.docs.release(doc);
    }
  } catch (err) {
    await deps.store.delete(roomId).catch((e) => console.error(`[photo-room] ${roomId}: deleting the room whose settings could not be written failed:`, e));
    throw err;
  }
}

export function createPhotoRoomHandler(deps: PhotoRoomDeps) {
  const slots = new ExportSlots(deps.limits.photoUploadsInFlight);
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== PHOTO_ROOM_PATH) return false;
    let bodyRead = false;
    try {
      if (req.method !== 'POST') throw new PhotoRefusal('invalid', `${PHOTO_ROOM_PATH} takes a POST with the photo as its body`);
      const model = deps.rooms.offeredModel(url.searchParams.get('model'));
      const crop = parseCrop(url.searchParams.get('crop'));
      if (crop) checkAspect(crop, model);
      const settings = parseSettings(url);
      const unsuited = model.kind === 'gan' ? invertSettingsProblem(settings, model, { lpips: deps.rooms.lpipsPath() !== null }) : null;
      if (unsuited) throw new PhotoRefusal('invalid', unsuited);
      const address = deps.clientAddress(req);
      const done = await slots.run(async () => {
        spendQuota(deps.quotas.roomCreate, address, 'new rooms');
        const bytes = await readBody(req, PHOTO_LIMITS.maxBytes, deps.limits.photoUploadSeconds);
        bodyRead = true;
        const info = await probeImage(bytes);
        if (crop && (crop.left + crop.width > info.width || crop.top + crop.height > info.height)) {
          throw new PhotoRefusal('invalid-crop', `the crop ${crop.width}x${crop.height}+${crop.left}+${crop.top} is outside the ${info.width}x${info.height} photo`);
        }
        const fitted = await fitImage(bytes, { width: model.width, height: model.height, crop });
        const target = (await encodeImage(fitted.image, 'png')).bytes;
        const room = await deps.rooms.createFromPhoto({ title: url.searchParams.get('title'), model: model.id, target }, address);
        // A diffusion room is ready as it is: no GAN inversion, each drag inverts the photo with DDIM. It starts
        // from the settings its model card says the model drags well with.
        if (model.kind === 'diffusion') {
          await seedDiffusionSettings(deps, room.id, model.diffusionSettings ?? {});
          return { room, runId: null, crop: fitted.crop, notices: notices(fitted.info) };
        }
        try {
          const { runId } = await deps.runs.startInversion(room.id, PHOTO_USER, { connection: `photo:${address}`, address }, { target, settings });
          return { room, runId, crop: fitted.crop, notices: notices(fitted.info) };
        } catch (err) {
          await deps.store.delete(room.id).catch((e) => console.error(`[photo-room] ${room.id}: deleting the room whose inversion was refused failed:`, e));
          throw err;
        }
      });
      if (!done) throw new PhotoRefusal('busy', `the server is receiving ${deps.limits.photoUploadsInFlight} photos; try again in 2 s`, 2);
      const { room, runId, crop: used, notices: said } = done.value;
      send(res, 201, { ok: true, roomId: room.id, editToken: room.editToken, viewToken: room.viewToken, runId, crop: used, notices: said }, false);
    } catch (err) {
      await sendRefusal(req, res, err, bodyRead, deps.limits.photoUploadSeconds);
    }
    return true;
  };
}

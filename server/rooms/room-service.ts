/** Creating rooms, seed previews, and the public view of a room. */
import type { EncodedImage, ImageSize, ModelKind, RoomSummary } from '../../contract/events.js';
import { encodedImageSize } from '../../contract/image-size.js';
import { cleanDisplayText, MAX_TITLE_GRAPHEMES } from '../../contract/display-text.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { FrameFormat } from '../jobs/worker-protocol.js';
import { modelUnavailableMessage, type ModelRegistry, type ResolvedModel } from './model-registry.js';
import type { RoomRecord, RoomStore } from './room-store.js';
import { PreviewCache } from './preview-cache.js';

/**
 * Errors a request can end in, by code: `unauthorized` (no room for this link: wrong or revoked),
 * `forbidden` (a watch link asking to edit), `invalid` (a malformed request), `limit` (a limit in
 * server/limits.ts), `busy` (the server's shared queue is full), `not-found` (an unknown run or step),
 * `no-points`, `model-unavailable` (the model is missing or broken on this server), `internal`. `limit` and
 * `busy` may say when to try again.
 */
export class RoomError extends Error {
  constructor(
    readonly code: 'unauthorized' | 'not-found' | 'invalid' | 'forbidden' | 'limit' | 'busy' | 'no-points' | 'storage' | 'storage-full' | 'model-unavailable' | 'internal',
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}


export class RoomService {
  private readonly previews: PreviewCache;

  constructor(
    private readonly store: RoomStore,
    private readonly jobs: JobQueue,
    private readonly models: ModelRegistry,
    private readonly previewFormat: FrameFormat = 'webp',
    previewCacheBytes = 8_000_000,
  ) {
    this.previews = new PreviewCache(previewCacheBytes);
  }

  private model(id: unknown) {
    const m = typeof id === 'string' ? this.models.get(id) : undefined;
    if (m) return m;
    if (typeof id === 'string' && this.models.isListed(id)) throw this.unavailable(id);
    throw new RoomError('invalid', `unknown model ${JSON.stringify(id)}`);
  }

  private unavailable(id: string): RoomError {
    return new RoomError('model-unavailable', modelUnavailableMessage(id, this.models.unavailableReason(id)));
  }

  private static seed(seed: unknown): number {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
      throw new RoomError('invalid', 'seed must be an integer in [0, 2^32)');
    }
    return seed;
  }

  /**
   * A diffusion model draws no image from a seed worth dragging (DDIM sampling from noise with one fixed prompt
   * gives one kind of picture): its rooms start from a photo, which the drag inverts itself.
   */
  private static seedable(model: { id: string; kind: string }): void {
    if (model.kind === 'diffusion') throw new RoomError('invalid', `${model.id} is a diffusion model: its rooms start from a photo (upload one), not from a seed`);
  }

  /** `caller` (the client's address) shares the render queue fairly with other callers. */
  async create(req: { title: unknown; model: unknown; seed: unknown }, caller?: string): Promise<RoomRecord> {
    const model = this.model(req.model);
    RoomService.seedable(model);
    const seed = RoomService.seed(req.seed);
    const title = cleanDisplayText(typeof req.title === 'string' ? req.title : '', MAX_TITLE_GRAPHEMES) || `Seed ${seed}`;
    const rendered = await this.jobs.render({ modelPath: model.path, seed, format: 'png' }, { caller });
    return this.store.create({ title, model: model.id, modelKind: model.kind, seed, latent: rendered.latent, image: rendered.image.bytes, imageType: rendered.image.mime });
  }

  /** The offered model `id` names (its size and file); `invalid` or `model-unavailable` otherwise. */
  offeredModel(id: unknown): ResolvedModel {
    return this.model(id);
  }

  /**
   * A room whose image is a photo's fitted target (`target`, PNG at the model's size), before its inversion
   * has run. Its latent is seed 0's until the inversion writes its own: a latent the model can draw, so the
   * room can be dragged even if the inversion never ran.
   */
  async createFromPhoto(req: { title: unknown; model: unknown; target: Uint8Array }, caller?: string): Promise<RoomRecord> {
    const model = this.model(req.model);
    const title = cleanDisplayText(typeof req.title === 'string' ? req.title : '', MAX_TITLE_GRAPHEMES) || 'Photo';
    // A diffusion room's image is the photo itself and it has no latent of its own: each drag inverts the image.
    if (model.kind === 'diffusion') return this.store.create({ title, model: model.id, modelKind: 'diffusion', seed: 0, latent: new Float32Array(0), image: req.target, imageType: 'image/png' });
    const rendered = await this.jobs.render({ modelPath: model.path, seed: 0, format: 'webp' }, { caller });
    return this.store.create({ title, model: model.id, modelKind: model.kind, seed: 0, latent: rendered.latent, image: req.target, imageType: 'image/png' });
  }

  /** A seed's image, cached: the home page asks for the same seeds again and again. */
  preview(req: { model: unknown; seed: unknown }, caller?: string): Promise<EncodedImage> {
    const model = this.model(req.model);
    RoomService.seedable(model);
    const seed = RoomService.seed(req.seed);
    const format = this.previewFormat;
    return this.previews.get(`${model.id}:${model.identity}:${seed}:${format}`, async () => (await this.jobs.render({ modelPath: model.path, seed, format }, { caller })).image);
  }

  /** The preview cache's size (tests, health). */
  previewCacheSize(): { entries: number; bytes: number } {
    return this.previews.size;
  }

  summary(room: RoomRecord): RoomSummary {
    return {
      roomId: room.id,
      title: room.title,
      model: room.model,
      modelKind: this.modelKind(room),
      modelAvailable: this.models.get(room.model) !== undefined,
      seed: room.seed,
      ...this.size(room),
      createdAt: room.createdAt.toISOString(),
      updatedAt: room.updatedAt.toISOString(),
    };
  }

  /**
   * The room's image size: read from its stored image's header, so it holds when the model is gone or was
   * replaced by a file of another size; the model's presented size only for an image that cannot be read.
   */
  size(room: Pick<RoomRecord, 'image' | 'model'>): ImageSize {
    const stored = encodedImageSize(room.image);
    if (stored) return stored;
    const m = this.models.lastKnown(room.model);
    return { width: m?.width ?? 0, height: m?.height ?? 0 };
  }

  /**
   * The kind of the room's model: as offered now or last seen, else as stored with the room (a room made before
   * rooms kept their kind reads 'gan' there, so a model seen here wins).
   */
  modelKind(room: Pick<RoomRecord, 'model' | 'modelKind'>): ModelKind {
    return this.models.lastKnown(room.model)?.kind ?? room.modelKind;
  }

  /** The room's model as offered now (its path, kind and prompt); `model-unavailable` when it is gone or broken. */
  modelOf(room: Pick<RoomRecord, 'model'>) {
    const m = this.models.get(room.model);
    if (!m) throw this.unavailable(room.model);
    return m;
  }

  image(room: RoomRecord): EncodedImage {
    return { bytes: room.image, mime: room.imageType, ...this.size(room) };
  }

  /** Refuses work on a room whose model cannot be used (`model-unavailable`) before anything is queued. */
  async checkModel(roomId: string): Promise<void> {
    const room = await this.store.get(roomId);
    if (room) this.modelPath(room);
  }

  /**
   * The room's own tuned weights (pivotal tuning), which every render and drag of the room passes with its job;
   * undefined for a room that draws with its model's.
   */
  async weights(roomId: string): Promise<Uint8Array | undefined> {
    return (await this.store.getWeights(roomId)) ?? undefined;
  }

  /** The room's model file; a room whose model is gone or broken gets `model-unavailable`. */
  /** LPIPS-VGG16's weights file when the server holds it (the inversion's 'lpips' loss), else null. */
  lpipsPath(): string | null {
    return this.models.lpipsPath();
  }

  modelPath(room: Pick<RoomRecord, 'model'>): string {
    const m = this.models.get(room.model);
    if (!m) throw this.unavailable(room.model);
    return m.path;
  }

}

/** Creating rooms, seed previews, and the public view of a room. */
import type { EncodedImage, RoomSummary } from '../protocol/events.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { FrameFormat } from '../jobs/worker-protocol.js';
import type { ModelRegistry } from './model-registry.js';
import type { RoomRecord, RoomStore } from './room-store.js';

/**
 * Errors a request can end in, by code: `unauthorized` (no room for this link: wrong or revoked),
 * `forbidden` (a watch link asking to edit), `invalid` (a malformed request), `limit` (a limit in
 * server/limits.ts), `not-found` (an unknown run or step), `no-points`, `internal`.
 */
export class RoomError extends Error {
  constructor(readonly code: 'unauthorized' | 'not-found' | 'invalid' | 'forbidden' | 'limit' | 'no-points' | 'storage' | 'internal', message: string) {
    super(message);
  }
}

const MAX_TITLE = 80;
const PREVIEW_CACHE = 64;

export class RoomService {
  private readonly previews = new Map<string, Promise<EncodedImage>>();

  constructor(
    private readonly store: RoomStore,
    private readonly jobs: JobQueue,
    private readonly models: ModelRegistry,
    private readonly previewFormat: FrameFormat = 'webp',
  ) {}

  private model(id: unknown) {
    const m = typeof id === 'string' ? this.models.get(id) : undefined;
    if (!m) throw new RoomError('invalid', `unknown model ${JSON.stringify(id)}`);
    return m;
  }

  private static seed(seed: unknown): number {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
      throw new RoomError('invalid', 'seed must be an integer in [0, 2^32)');
    }
    return seed;
  }

  async create(req: { title: unknown; model: unknown; seed: unknown }): Promise<RoomRecord> {
    const model = this.model(req.model);
    const seed = RoomService.seed(req.seed);
    const title = (typeof req.title === 'string' ? req.title.trim() : '').slice(0, MAX_TITLE) || `Seed ${seed}`;
    const rendered = await this.jobs.render({ modelPath: model.path, seed, format: 'png' });
    return this.store.create({ title, model: model.id, seed, latent: rendered.latent, image: rendered.image.bytes, imageType: rendered.image.mime });
  }

  /** A seed's image, cached: the home page asks for the same seeds again and again. */
  preview(req: { model: unknown; seed: unknown }): Promise<EncodedImage> {
    const model = this.model(req.model);
    const seed = RoomService.seed(req.seed);
    const key = `${model.id}:${seed}`;
    let p = this.previews.get(key);
    if (!p) {
      p = this.jobs.render({ modelPath: model.path, seed, format: this.previewFormat }).then((r) => r.image);
      p.catch(() => this.previews.delete(key));
      this.previews.set(key, p);
      if (this.previews.size > PREVIEW_CACHE) this.previews.delete(this.previews.keys().next().value!);
    }
    return p;
  }

  summary(room: RoomRecord): RoomSummary {
    return {
      roomId: room.id,
      title: room.title,
      model: room.model,
      seed: room.seed,
      resolution: this.models.get(room.model)?.resolution ?? 0,
      createdAt: room.createdAt.toISOString(),
      updatedAt: room.updatedAt.toISOString(),
    };
  }

  image(room: RoomRecord): EncodedImage {
    const res = this.models.get(room.model)?.resolution ?? 0;
    return { bytes: room.image, mime: room.imageType, width: res, height: res };
  }

  modelPath(room: RoomRecord): string {
    return this.model(room.model).path;
  }
}

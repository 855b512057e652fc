/**
 * A recorded step's frame: the stored one when the step kept it (stored-frames.ts), else rendered again from
 * the step's latent by a worker (through the job queue: the main thread never runs tensor code). Rendering is
 * deterministic, so a re-rendered frame is byte for byte the frame the run showed (drawn with the room's tuned
 * weights where it has some, as its runs were). A room whose model the
 * studio no longer offers can show only stored frames: asking for another is a 'model-unavailable' error.
 */
import type { EncodedImage } from '../../contract/events.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { StoredStepFrame } from '../rooms/history-store.js';
import type { RoomRecord } from '../rooms/room-store.js';
import type { RoomService } from '../rooms/room-service.js';

type Room = Pick<RoomRecord, 'id' | 'model' | 'image'>;

export class StepFrames {
  constructor(
    private readonly jobs: JobQueue,
    private readonly rooms: RoomService,
  ) {}

  /** The step's frame as an image of the room's size (stored bytes, or a lossless WebP rendered now). */
  async frame(room: Room, step: StoredStepFrame, caller?: string): Promise<EncodedImage & { bytes: Uint8Array }> {
    return this.frameWith(room, step, caller, step.frame ? undefined : await this.rooms.weights(room.id));
  }

  private async frameWith(room: Room, step: StoredStepFrame, caller: string | undefined, weights: Uint8Array | undefined): Promise<EncodedImage & { bytes: Uint8Array }> {
    const size = this.rooms.size(room);
    if (step.frame) return { bytes: step.frame, mime: step.frameType ?? 'image/webp', ...size };
    const modelPath = this.rooms.modelPath(room);
    if (!step.latent) throw new Error(`step ${step.step} has neither a stored frame nor a latent`);
    const rendered = await this.jobs.render({ modelPath, latent: step.latent, format: 'webp-lossless', weights }, { caller: caller ?? `room:${room.id}` });
    return rendered.image;
  }

  /** Frames of several steps, in their order (renders one at a time, sharing the queue fairly with others). */
  async frames(room: Room, steps: StoredStepFrame[], caller?: string): Promise<Uint8Array[]> {
    const renders = steps.some((s) => !s.frame);
    if (renders) this.rooms.modelPath(room);
    // Read once for all of them: a room's weights are a few hundred kilobytes.
    const weights = renders ? await this.rooms.weights(room.id) : undefined;
    const out: Uint8Array[] = [];
    for (const s of steps) out.push((await this.frameWith(room, s, caller, weights)).bytes);
    return out;
  }
}

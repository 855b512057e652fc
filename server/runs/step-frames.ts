/**
 * A recorded step's frame: the stored one when the step kept it (stored-frames.ts), else rendered again from
 * the step's latent by a worker (through the job queue: the main thread never runs tensor code). Rendering is
 * deterministic, so a re-rendered frame is byte for byte the frame the run showed (drawn with the room's tuned
 * weights on the steps that ran with them, tuned-steps.ts). A room whose model the
 * studio no longer offers can show only stored frames: asking for another is a 'model-unavailable' error.
 */
import type { EncodedImage } from '../../contract/events.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { RunRecord, StoredStepFrame } from '../rooms/history-store.js';
import type { RoomRecord } from '../rooms/room-store.js';
import type { RoomService } from '../rooms/room-service.js';
import { diffusionStepDecoded } from './diffusion-steps.js';
import { stepUsesWeights } from './tuned-steps.js';

type Room = Pick<RoomRecord, 'id' | 'model' | 'image'>;
type Run = Pick<RunRecord, 'kind' | 'settings'>;

export class StepFrames {
  constructor(
    private readonly jobs: JobQueue,
    private readonly rooms: RoomService,
  ) {}

  /** The step's frame as an image of the room's size (stored bytes, or a lossless WebP rendered now). */
  async frame(room: Room, run: Run, step: StoredStepFrame, caller?: string): Promise<EncodedImage & { bytes: Uint8Array }> {
    const weights = !step.frame && stepUsesWeights(run, step.step) ? await this.rooms.weights(room.id) : undefined;
    return this.frameWith(room, step, caller, weights);
  }

  private async frameWith(room: Room, step: StoredStepFrame, caller: string | undefined, weights: Uint8Array | undefined): Promise<EncodedImage & { bytes: Uint8Array }> {
    const size = this.rooms.size(room);
    if (step.frame) return { bytes: step.frame, mime: step.frameType ?? 'image/webp', ...size };
    const modelPath = this.rooms.modelPath(room);
    if (!step.latent) throw new Error(`step ${step.step} has neither a stored frame nor a latent`);
    const rendered = await this.jobs.render({ modelPath, latent: step.latent, format: 'webp-lossless', weights }, { caller: caller ?? `room:${room.id}` });
    return rendered.image;
  }

  /**
   * A diffusion step's image, never a preview: its stored frame where the run decoded that step, else its clean
   * latent decoded now by a worker's VAE (exactly the image a decode during the run would have shown).
   */
  async diffusionImage(room: Room, run: Pick<RunRecord, 'kind' | 'settings' | 'endReason' | 'recorded'>, step: StoredStepFrame, caller?: string): Promise<EncodedImage & { bytes: Uint8Array }> {
    const size = this.rooms.size(room);
    if (step.frame && diffusionStepDecoded(run, step.step)) return { bytes: step.frame, mime: step.frameType ?? 'image/webp', ...size };
    if (!step.latent) throw new Error(`step ${step.step} has no latent`);
    const modelPath = this.rooms.modelPath(room);
    const rendered = await this.jobs.render({ modelPath, latent: step.latent, format: 'png', diffusion: size }, { caller: caller ?? `room:${room.id}` });
    return rendered.image;
  }

  /** Frames of several steps, in their order (renders one at a time, sharing the queue fairly with others). */
  async frames(room: Room, run: Run, steps: StoredStepFrame[], caller?: string): Promise<Uint8Array[]> {
    const renders = steps.some((s) => !s.frame);
    if (renders) this.rooms.modelPath(room);
    // Read once for all of them: a room's weights are a few hundred kilobytes.
    const weights = steps.some((s) => !s.frame && stepUsesWeights(run, s.step)) ? await this.rooms.weights(room.id) : undefined;
    const out: Uint8Array[] = [];
    for (const s of steps) out.push((await this.frameWith(room, s, caller, stepUsesWeights(run, s.step) ? weights : undefined)).bytes);
    return out;
  }
}

/** How run progress leaves the coordinator: implemented by the Socket.IO layer (and by fakes in tests). */
import type { EncodedImage, RunEnded, RunFrame, RunQueueState } from '../../contract/events.js';

export interface RunBroadcaster {
  queue(state: RunQueueState): void;
  /** Every step; delivery may skip intermediate frames per client, never the one marked final. */
  frame(frame: RunFrame): void;
  ended(ended: RunEnded): void;
  image(roomId: string, image: EncodedImage): void;
  /** The room's recorded history changed. */
  history(roomId: string): void;
  /** The newest frame of a run in the room that another process is running (a cluster's relay), if known. */
  liveFrame?(roomId: string): RunFrame | null;
  close?(): Promise<void>;
}

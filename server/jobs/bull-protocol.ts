/**
 * What web nodes and worker processes (`npm run worker`) agree on: the BullMQ queues, each job's data, and the
 * messages a job sends back. A job kind names its queue: long jobs that stream steps ('steps') and short ones
 * ('renders') get queues of their own, so a preview never waits behind a whole drag for a worker. Adding a kind
 * (inversion) is an entry here, a method on BullJobQueue and a case in the worker's job runner.
 *
 * Replies travel on Redis pub/sub, one channel per job under the submitting node's pattern, in the order the
 * worker sent them; cancels go to every worker on one channel, and a key remembers them for a job that a
 * worker has not taken yet.
 */
import type { DragEndMessage, DragStepMessage, InvertEndMessage, InvertStepMessage, RenderResult } from './worker-protocol.js';

export const JOB_QUEUE_OF = { drag: 'steps', invert: 'steps', render: 'renders' } as const;
export type JobKind = keyof typeof JOB_QUEUE_OF;
export type JobQueueName = (typeof JOB_QUEUE_OF)[JobKind];
export const JOB_QUEUE_NAMES: readonly JobQueueName[] = ['steps', 'renders'];

export interface BullJobData {
  kind: JobKind;
  /** Workers load models from their own models directory, by id (the web node's path means nothing there). */
  modelId: string;
  /** The request (DragJobRequest, InvertJobRequest, RenderJob) in wire-codec.ts form, base64: BullMQ stores job data as JSON. */
  request: string;
  /** Where the replies go (replyChannel). */
  reply: string;
}

export type JobReply =
  | { type: 'start' }
  | { type: 'step'; step: DragStepMessage }
  | { type: 'invert-step'; step: InvertStepMessage }
  | { type: 'end'; end: DragEndMessage | InvertEndMessage }
  | { type: 'rendered'; result: RenderResult }
  | { type: 'failed'; error: { code: string; message: string } };

/** BullMQ's own key prefix, inside the studio's. */
export const bullPrefix = (prefix: string) => `${prefix}:bull`;
export const replyPattern = (prefix: string, node: string) => `${prefix}:job-reply:${node}:*`;
export const replyChannel = (prefix: string, node: string, jobId: string) => `${prefix}:job-reply:${node}:${jobId}`;
export const cancelChannel = (prefix: string) => `${prefix}:job-cancel`;
export const cancelledKey = (prefix: string, jobId: string) => `${prefix}:job-cancelled:${jobId}`;

/** How long a cancel is remembered for a job no worker has taken yet. */
export const CANCEL_MEMORY_SECONDS = 3600;

/** BullMQ's failedReason for a job whose worker stopped renewing its lock (killed, machine gone). */
export const isStalledFailure = (failedReason: string | undefined) => /stalled/i.test(failedReason ?? '');

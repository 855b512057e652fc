/**
 * Schemas of every Socket.IO request payload (the types are in protocol/events.ts; these check that what
 * arrives matches them). Bounds are generous for the app and tight enough that a hand-made client cannot
 * make the server do unbounded work. A request that fails gets `invalid` with the path of the first problem.
 */
import { z } from 'zod';
import { HISTORY_PAGE, type ClientToServerEvents } from '../../contract/events.js';

const id = z.string().min(1).max(64);
const token = z.string().min(1).max(64);
const seed = z.number().int().min(0).max(2 ** 32 - 1);
const user = z.strictObject({
  id,
  name: z.string().max(64),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #3366ff'),
});
const runStep = z.strictObject({ runId: z.string().min(1).max(32), step: z.number().int().min(0).max(1_000_000) });

/** The payload schema of each event that takes one; events absent here take only an acknowledgement. */
export const REQUEST_SCHEMAS = {
  'seed:preview': z.strictObject({ model: id, seed }),
  'room:create': z.strictObject({ title: z.string().max(200), model: id, seed }),
  'room:join': z.strictObject({ token, user }),
  'rooms:describe': z.strictObject({ tokens: z.array(token).max(50) }),
  'room:rotate-links': z.strictObject({ which: z.enum(['edit', 'view', 'both']) }),
  'history:list': z
    .strictObject({ before: z.number().int().min(1).max(2 ** 31 - 1).optional(), limit: z.number().int().min(1).max(HISTORY_PAGE.maxRuns).optional() })
    .optional(),
  'history:step': runStep,
  'history:fork': runStep,
} satisfies Partial<Record<keyof ClientToServerEvents, z.ZodType>>;

export type EventWithPayload = keyof typeof REQUEST_SCHEMAS;

/** "user.color: a colour like #3366ff" from the first issue. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : 'request';
  return `${where}: ${issue.message}`;
}

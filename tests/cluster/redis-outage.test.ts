/**
 * A Redis outage under two web nodes (real redis-server killed and restarted on the same port, real
 * PostgreSQL): readiness names Redis while it is down, each node keeps serving its own clients, and once
 * Redis is back the nodes catch up with each other (pub/sub kept nothing for them) and the edits made on
 * both sides during the outage converge, in the replicas and in the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPoint, readPoints } from '../../contract/room-doc.js';
import { connectYjs, createRoom, user, waitFor, type YClient } from '../server/helpers.js';
import { docState, storedDocState } from '../server/room-agreement.js';
import { startClusterHarness, type ClusterHarness, type InProcessNode } from './cluster-harness.js';

async function readiness(node: InProcessNode): Promise<{ status: number; body: { redis?: string; failed: string[] } }> {
  const res = await fetch(`${node.url}/api/health/ready`);
  return { status: res.status, body: (await res.json()) as { redis?: string; failed: string[] } };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  for (const t0 = Date.now(); !(await check()); ) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a Redis outage under two web nodes', () => {
  let h: ClusterHarness;
  let a: InProcessNode;
  let b: InProcessNode;
  const clients: YClient[] = [];

  beforeAll(async () => {
    h = await startClusterHarness();
    a = await h.startNode('a');
    b = await h.startNode('b');
  }, 120_000);
  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await h?.stop();
  }, 60_000);

  it('readiness names Redis while it is down; edits made meanwhile on both nodes converge once it is back', async () => {
    expect(await readiness(a)).toMatchObject({ status: 200, body: { redis: 'ok', failed: [] } });
    const room = await createRoom(a.url);
    const ann = await connectYjs(a.url, room.roomId, room.editToken);
    const bob = await connectYjs(b.url, room.roomId, room.editToken);
    clients.push(ann, bob);
    addPoint(ann.doc, [1, 1], user('ann'));
    addPoint(ann.doc, [2, 2], user('ann'));
    await waitFor(() => readPoints(bob.doc).length === 1, 'the first pair on B');

    await h.redis.kill();
    await until(async () => (await readiness(a)).body.failed.includes('redis'), 'readiness to name Redis');
    expect((await readiness(b)).status).toBe(503);
    // Each node still serves its own clients.
    addPoint(ann.doc, [3, 3], user('ann'));
    addPoint(ann.doc, [4, 4], user('ann'));
    addPoint(bob.doc, [5, 5], user('bob'));
    addPoint(bob.doc, [6, 6], user('bob'));
    await new Promise((r) => setTimeout(r, 300));
    expect(readPoints(ann.doc)).toHaveLength(2);

    await h.redis.restart();
    await until(async () => (await readiness(a)).status === 200 && (await readiness(b)).status === 200, 'both nodes ready again');
    await waitFor(() => readPoints(ann.doc).length === 3 && docState(ann.doc) === docState(bob.doc), 'the replicas to converge after the outage', 20_000);
    const converged = docState(ann.doc);
    await until(async () => {
      await a.server.docs.flushAll();
      await b.server.docs.flushAll();
      return (await storedDocState(a.server.store, room.roomId)) === converged;
    }, 'the database to hold the converged document');
  }, 90_000);
});

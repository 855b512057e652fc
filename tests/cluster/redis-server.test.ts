import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type RedisFixture } from './redis-server.js';

describe('redis-server fixture', () => {
  let redis: RedisFixture;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('serves on loopback, dies on kill and comes back empty on the same port', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    const port = redis.port;
    await redis.kill();
    await expect(client.get('k')).rejects.toThrow();
    await redis.restart();
    expect(redis.port).toBe(port);
    // The client reconnects by itself; the data went with the killed server.
    await new Promise((r) => setTimeout(r, 200));
    expect(await client.get('k')).toBeNull();
    client.disconnect();
  });
});

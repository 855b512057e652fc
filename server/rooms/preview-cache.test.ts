import { describe, expect, it } from 'vitest';
import type { EncodedImage } from '../../contract/events.js';
import { PreviewCache } from './preview-cache.js';

const image = (n: number): EncodedImage => ({ bytes: new Uint8Array(n), mime: 'image/webp', width: 32, height: 32 });

describe('PreviewCache', () => {
  it('renders a key once, shares a render in flight, and drops the least recently used past its bytes', async () => {
    const cache = new PreviewCache(250);
    const renders: string[] = [];
    const get = (key: string) => cache.get(key, async () => (renders.push(key), image(100)));
    await Promise.all([get('a'), get('a')]);
    await get('b');
    await get('a'); // a is now the most recent
    await get('c'); // 300 bytes: b goes
    expect(cache.size).toEqual({ entries: 2, bytes: 200 });
    await get('a');
    await get('b');
    expect(renders).toEqual(['a', 'b', 'c', 'b']);
  });

  it('keeps no failed render', async () => {
    const cache = new PreviewCache(1000);
    await expect(cache.get('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await cache.get('a', async () => image(10))).bytes.byteLength).toBe(10);
  });
});

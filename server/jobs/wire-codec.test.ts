import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, WireFormatError } from './wire-codec.js';

describe('wire codec', () => {
  it('carries typed arrays and Buffers as bytes, the rest as JSON', () => {
    const latent = Float32Array.of(1.5, -2, 3e-8);
    const value = { step: 3, latent, image: { bytes: Buffer.from('PNGdata'), mime: 'image/png' }, raw: Uint8Array.of(1, 2).buffer, list: [1, 'a', null] };
    const wire = encodeWire(value);
    // The frame's bytes are in the message as they are, not as a JSON number list.
    expect(wire.includes(Buffer.from('PNGdata'))).toBe(true);
    const back = decodeWire(wire) as typeof value & { raw: Uint8Array };
    expect(back.latent).toBeInstanceOf(Float32Array);
    expect([...back.latent]).toEqual([...latent]);
    expect(Buffer.from(back.image.bytes).toString()).toBe('PNGdata');
    expect([...back.raw]).toEqual([1, 2]);
    expect(back.list).toEqual([1, 'a', null]);
  });

  it('refuses what it did not write, truncated or not', () => {
    const wire = encodeWire({ a: Float32Array.of(1, 2, 3) });
    expect(() => decodeWire(Buffer.from('hello world, not a job'))).toThrow(WireFormatError);
    expect(() => decodeWire(wire.subarray(0, wire.byteLength - 1))).toThrow(WireFormatError);
  });
});

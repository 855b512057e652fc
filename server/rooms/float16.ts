/**
 * Stored step latents as IEEE half floats (a diffusion step's latent in half the bytes). The conversions are the
 * engine's safetensors reader's: that module imports nothing, so the server's main thread (which never loads
 * TensorFlow.js) can use it directly.
 */
import { floatToHalf, halfToFloat } from '../../engine/src/io/safetensors.js';

export { floatToHalf, halfToFloat };

/** Little-endian half floats, 2 bytes a value. */
export function toFloat16Bytes(values: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(i * 2, floatToHalf(values[i]), true);
  return out;
}

export function fromFloat16Bytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 2 !== 0) throw new Error(`a float16 latent has an even byte count, got ${bytes.byteLength}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
  return out;
}

/**
 * Writes a safetensors file (F32) tensor by tensor: the header is computed from the shapes first, then
 * each tensor's values are produced, written and dropped, so only one tensor is in memory at a time.
 * Same layout as io/safetensors.ts (names sorted, header padded to 8 bytes).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { CheckpointImportError } from './errors.js';

export interface TensorToStream {
  shape: number[];
  values(): Float32Array;
}

export function writeSafetensorsStreaming(
  path: string,
  tensors: Map<string, TensorToStream>,
  metadata: Record<string, string>,
  onTensor?: (done: number, total: number) => void,
): number {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const size = tensors.get(name)!.shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape: tensors.get(name)!.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = Buffer.from(JSON.stringify(header));
  if (json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const tmp = `${path}.partial`;
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    names.forEach((name, i) => {
      const t = tensors.get(name)!;
      const data = t.values();
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) throw new CheckpointImportError(`tensor '${name}' produced ${data.length} values for shape [${t.shape}]`);
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      onTensor?.(i + 1, names.length);
    });
    closeSync(fd);
    open = false;
    renameSync(tmp, path);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  return 8 + json.length + offset;
}

/**
 * Walks the persistent-class records of a network the way torch's state_dict() does: parameters, then
 * buffers (except non-persistent ones and None), then submodules with a dotted prefix. Also turns the
 * records' init kwargs into plain JSON.
 */
import { CheckpointImportError } from './errors.js';
import { tensorValues } from './pickle/tensor-data.js';
import { LazyBytes } from './pickle/source.js';
import { LazyString, NdArray, NpDType, PersistentRecord, PyDict, PySet, PyTuple, TorchTensor, typeName, type PyValue } from './pickle/values.js';

const MAX_DEPTH = 64;

function entries(d: PyValue | undefined, what: string): Array<[string, PyValue]> {
  if (d == null) return [];
  if (!(d instanceof PyDict)) throw new CheckpointImportError(`${what} is a ${typeName(d)}, not a dict`);
  return [...d.map].map(([k, v]) => {
    if (typeof k !== 'string') throw new CheckpointImportError(`${what} has a non-string key`);
    return [k, v];
  });
}

export function stateDict(record: PersistentRecord, what: string): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  const walk = (r: PersistentRecord, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new CheckpointImportError(`${what}: modules nested deeper than ${MAX_DEPTH}`);
    const skip = r.state.get('_non_persistent_buffers_set');
    const nonPersistent = new Set(skip instanceof PySet ? skip.items : []);
    const tensors = [...entries(r.state.get('_parameters'), `${what} ${prefix}_parameters`), ...entries(r.state.get('_buffers'), `${what} ${prefix}_buffers`).filter(([k]) => !nonPersistent.has(k))];
    for (const [name, t] of tensors) {
      if (t === null) continue;
      if (!(t instanceof TorchTensor)) throw new CheckpointImportError(`${what}: ${prefix}${name} is a ${typeName(t)}, not a tensor`);
      out.set(prefix + name, t);
    }
    for (const [name, m] of entries(r.state.get('_modules'), `${what} ${prefix}_modules`)) {
      if (m === null) continue;
      if (!(m instanceof PersistentRecord)) throw new CheckpointImportError(`${what}: submodule ${prefix}${name} is a ${typeName(m)}, not a persistent network module`);
      walk(m, `${prefix}${name}.`, depth + 1);
    }
  };
  walk(record, '', 0);
  return out;
}

/** The submodule at a dotted path, or undefined. */
export function submodule(record: PersistentRecord, path: string): PersistentRecord | undefined {
  let r: PersistentRecord | undefined = record;
  for (const part of path.split('.')) {
    const modules: PyValue | undefined = r?.state.get('_modules');
    const next: PyValue | undefined = modules instanceof PyDict ? modules.map.get(part) : undefined;
    r = next instanceof PersistentRecord ? next : undefined;
  }
  return r;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Plain JSON for config metadata; tensors and large payloads are summarised, not copied. */
export function toJson(v: PyValue, depth = 0): Json {
  if (depth > MAX_DEPTH) throw new CheckpointImportError(`a value nested deeper than ${MAX_DEPTH} levels`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  if (v instanceof PyTuple) return v.items.map((x) => toJson(x, depth + 1));
  if (v instanceof PySet) return v.items.map((x) => toJson(x, depth + 1));
  if (v instanceof PyDict) return Object.fromEntries([...v.map].map(([k, x]) => [String(k), toJson(x, depth + 1)]));
  if (v instanceof NpDType) return v.spec;
  if (v instanceof NdArray) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    if (n > 64) return `<array [${v.shape}]>`;
    const values = Array.from(tensorValues(v, 'a numpy attribute').data);
    return v.shape.length === 0 ? values[0] : values;
  }
  if (v instanceof TorchTensor) return `<tensor [${v.shape}]>`;
  if (v instanceof PersistentRecord) return `<${v.className}>`;
  if (v instanceof LazyString || v instanceof LazyBytes || v instanceof Uint8Array) return '<bytes>';
  return `<${typeName(v)}>`;
}

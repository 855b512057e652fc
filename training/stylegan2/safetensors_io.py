"""Minimal safetensors reader/writer (no dependency on the `safetensors` package, which is not installed).

Layout: u64 little-endian header length N, N bytes of JSON header
{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw little-endian
tensor bytes; offsets are relative to the end of the header.
"""
import json
import struct

import numpy as np

_DTYPES = {'F16': np.float16, 'F32': np.float32}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """tensors: {name: numpy array (float16/float32)}; metadata: {str: str}. Tensors are written name-sorted."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in _NAMES:
            raise ValueError(f'{name}: unsupported dtype {a.dtype}')
        raw = a.astype(a.dtype.newbyteorder('<'), copy=False).tobytes()
        header[name] = {'dtype': _NAMES[a.dtype], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * (-len(hb) % 8)  # pad so the data starts 8-byte aligned, as the reference library does
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)


def load(path):
    """-> ({name: numpy array in the stored dtype}, metadata dict)."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        dt = np.dtype(_DTYPES[info['dtype']]).newbyteorder('<')
        b, e = info['data_offsets']
        a = np.frombuffer(data, dtype=dt, count=(e - b) // dt.itemsize, offset=base + b)
        out[name] = a.reshape(info['shape']).astype(dt.newbyteorder('='))
    return out, meta

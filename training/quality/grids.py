"""Sample / dataset grids as compact PNGs.

pngio.write_png stores scanlines unfiltered (fine for small grids); an 8x8 grid of GAN samples then comes out
near 3 bytes per pixel. This writer picks one of the five PNG filters per scanline (minimum sum of absolute
residuals, the libpng heuristic) and deflates at level 9 with Z_FILTERED: ~40% smaller. Noisy samples of an
undertrained generator can still exceed the size budget; write_grid then drops low bits (7, then 6 bits per
channel, i.e. at most 1 or 3 levels of 255 darker) until the file fits, and reports how many bits it kept.
"""
import os
import struct
import sys
import zlib

import numpy as np

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'stylegan2'))
import pngio  # noqa: E402  (grid layout)

BPP = 3  # RGB8


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filtered_scanlines(rgb):
    """rgb uint8 [H, W, 3] -> bytes of filter-type-prefixed scanlines (adaptive filter per row)."""
    h, w, _ = rgb.shape
    x = rgb.reshape(h, w * BPP).astype(np.int16)
    left = np.zeros_like(x)
    left[:, BPP:] = x[:, :-BPP]
    up = np.zeros_like(x)
    up[1:] = x[:-1]
    upleft = np.zeros_like(x)
    upleft[1:, BPP:] = x[:-1, :-BPP]
    cands = np.stack([x, x - left, x - up, x - (left + up) // 2, x - _paeth(left, up, upleft)])  # [5, H, W*3]
    cands = (cands & 0xFF).astype(np.uint8)
    cost = np.abs(cands.astype(np.int8).astype(np.int32)).sum(-1)  # residuals as signed bytes
    best = cost.argmin(0)  # [H]
    rows = cands[best, np.arange(h)]  # [H, W*3]
    return np.concatenate([best.astype(np.uint8)[:, None], rows], 1).tobytes()


def write_png(path, rgb):
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape

    def chunk(tag, body):
        return struct.pack('>I', len(body)) + tag + body + struct.pack('>I', zlib.crc32(tag + body) & 0xffffffff)

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
        z = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)
        f.write(chunk(b'IDAT', z.compress(filtered_scanlines(rgb)) + z.flush()))
        f.write(chunk(b'IEND', b''))


def write_grid(path, images_uint8, cols=8, max_bytes=None):
    """images_uint8: [N, H, W, 3] -> row-major grid PNG. -> (bytes, bits kept per channel: 8 = lossless).
    With max_bytes, drops low bits (down to 6) while the file is larger than that."""
    rgb = pngio.grid(list(images_uint8), cols)
    for bits in (8, 7, 6):
        mask = (0xFF << (8 - bits)) & 0xFF
        write_png(path, rgb & np.uint8(mask))
        size = os.path.getsize(path)
        if max_bytes is None or size <= max_bytes:
            break
    return size, bits


def read_png(path):
    """Minimal reader for the files written here (8-bit RGB, non-interlaced); used to verify round trips."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, w, h = 8, b'', None, None
    while pos < len(data):
        (n,), tag = struct.unpack('>I', data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if tag == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and ctype == 2
        elif tag == b'IDAT':
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * BPP)
    out = np.zeros((h, w * BPP), dtype=np.int32)
    for y in range(h):
        ft, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prev = out[y - 1] if y else np.zeros(w * BPP, dtype=np.int32)
        cur = out[y]
        for i in range(w * BPP):
            a = cur[i - BPP] if i >= BPP else 0
            b = prev[i]
            c = prev[i - BPP] if i >= BPP else 0
            pred = [0, a, b, (a + b) // 2, int(_paeth(np.int32(a), np.int32(b), np.int32(c)))][ft]
            cur[i] = (line[i] + pred) & 0xFF
    return out.astype(np.uint8).reshape(h, w, BPP)


if __name__ == '__main__':  # self-test: round trip of a smooth + noisy image through every filter choice
    rng = np.random.RandomState(0)
    yy, xx = np.mgrid[0:40, 0:48]
    img = np.stack([xx * 5, yy * 6, (xx + yy) * 2], -1) + rng.randint(0, 40, (40, 48, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    img[10:20] = rng.randint(0, 256, (10, 48, 3))
    p = '/tmp/grids-selftest.png'
    write_png(p, img)
    back = read_png(p)
    assert np.array_equal(back, img), 'round trip mismatch'
    used = sorted(set(np.frombuffer(zlib.decompress(open(p, 'rb').read()[41:-16]), np.uint8)
                      .reshape(40, 1 + 48 * 3)[:, 0].tolist()))
    print(f'grids.py self-test OK (filters used: {used})')

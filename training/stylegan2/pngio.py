"""Write 8-bit RGB PNGs with zlib + struct (PIL is not available here)."""
import struct
import zlib

import numpy as np


def write_png(path, rgb):
    """rgb: uint8 array [H, W, 3]."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[y].tobytes() for y in range(h))  # filter type 0 per scanline

    def chunk(tag, body):
        return struct.pack('>I', len(body)) + tag + body + struct.pack('>I', zlib.crc32(tag + body) & 0xffffffff)

    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', zlib.compress(raw, 6)))
        f.write(chunk(b'IEND', b''))


def to_uint8(img):
    """Engine display convention: clamp((img + 1) * 127.5, 0, 255); img [3, H, W] float -> [H, W, 3] uint8."""
    x = (np.asarray(img, dtype=np.float32) + 1.0) * 127.5
    return np.clip(np.rint(x), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def grid(imgs, cols):
    """imgs: list of [H, W, 3] uint8 -> one tiled image, row-major."""
    h, w, _ = imgs[0].shape
    rows = (len(imgs) + cols - 1) // cols
    out = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for i, im in enumerate(imgs):
        out[(i // cols) * h:(i // cols + 1) * h, (i % cols) * w:(i % cols + 1) * w] = im
    return out

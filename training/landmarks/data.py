"""The packed face renders (training/faces CLI output) and the augmentations used to train the detector.

Coordinates: the pack stores landmarks with pixel (i, j) covering [i, i+1) x [j, j+1) (pixel centres at
i + 0.5). The detector works in the engine's convention (drag Points: (0, 0) is the centre of the top-left
pixel), so targets are the stored values minus 0.5. `to_engine` does that conversion.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HOLDOUT = 2000


def to_engine(landmarks):
    return landmarks - 0.5


def wait_for_pack(path, poll_s=10.0, log=print):
    meta_file = os.path.join(path, 'meta.json')
    waited = False
    while not os.path.exists(meta_file):
        if not waited:
            log(f'waiting for {meta_file} (the dataset is still being written)...')
            waited = True
        time.sleep(poll_s)
    with open(meta_file) as f:
        return json.load(f)


class Pack:
    """images: memmap uint8 [N, S, S, 3]; landmarks: float32 [N, L, 2] in engine coordinates."""

    def __init__(self, path, log=print):
        meta = wait_for_pack(path, log=log)
        self.meta = meta
        self.count, self.size = int(meta['count']), int(meta['size'])
        self.names = list(meta['landmarkNames'])
        n_lm = len(self.names)
        img_file, lm_file = os.path.join(path, 'images.u8'), os.path.join(path, 'landmarks.f32')
        want_img, want_lm = self.count * self.size * self.size * 3, self.count * n_lm * 2 * 4
        if os.path.getsize(img_file) != want_img or os.path.getsize(lm_file) != want_lm:
            raise SystemExit(f'{path}: file sizes do not match meta.json (images {os.path.getsize(img_file)} vs {want_img}, '
                             f'landmarks {os.path.getsize(lm_file)} vs {want_lm})')
        self.images = np.memmap(img_file, dtype=np.uint8, mode='r', shape=(self.count, self.size, self.size, 3))
        self.landmarks = to_engine(np.fromfile(lm_file, dtype='<f4').reshape(self.count, n_lm, 2).astype(np.float32))

    def batch(self, idx):
        idx = np.sort(np.asarray(idx))
        x = torch.from_numpy(np.ascontiguousarray(self.images[idx])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return x, torch.from_numpy(self.landmarks[idx])


def gaussian_blur(x, sigma):
    """Per-sample separable Gaussian blur; sigma: [N] tensor (0 = identity). Reflect-padded, 7 taps."""
    n, c, h, w = x.shape
    r = 3
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    s = sigma.clamp(min=1e-3).reshape(n, 1)
    k = torch.exp(-(t[None] ** 2) / (2 * s ** 2))
    k = k / k.sum(1, keepdim=True)
    k = torch.where(sigma.reshape(n, 1) > 0, k, (t[None] == 0).to(x.dtype))
    k = k.repeat_interleave(c, 0)  # [n*c, 7]
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode='reflect'), k.reshape(n * c, 1, 1, 2 * r + 1), groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode='reflect'), k.reshape(n * c, 1, 2 * r + 1, 1), groups=n * c)
    return y.reshape(n, c, h, w)


def augment(x, y, gen, p_geom=0.6, p_blur=0.5, p_noise=0.3, p_color=0.5):
    """x: [N, 3, S, S] in [-1, 1]; y: [N, L, 2] engine pixel coordinates. Returns augmented copies.

    Geometric: scale 0.92-1.08, roll +-4 deg, shift +-4 px (bilinear, border fill). Photometric: contrast,
    brightness and per-channel gain; Gaussian blur sigma 0.3-1.6 px; Gaussian noise std <= 0.04 (GAN outputs
    are blurrier and noisier than the renders).
    """
    n, _, size, _ = x.shape
    u = lambda *shape: torch.rand(*shape, generator=gen)
    geom = u(n) < p_geom
    if geom.any():
        scale = torch.where(geom, 0.92 + 0.16 * u(n), torch.ones(n))
        rot = torch.where(geom, (u(n) * 2 - 1) * math.radians(4), torch.zeros(n))
        shift = torch.where(geom[:, None], (u(n, 2) * 2 - 1) * 4.0, torch.zeros(n, 2))
        # theta maps output normalised coords to input normalised coords: p_in = A p_out + t, with A = R / scale.
        c, s = torch.cos(rot) / scale, torch.sin(rot) / scale
        A = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], 1)  # [n, 2, 2]
        t = -shift * (2.0 / size)  # content moves by +shift px
        theta = torch.cat([A, t[:, :, None]], 2)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
        # landmark: engine px -> normalised: (p + 0.5) / (S/2) - 1; p_out = A^-1 (p_in - t).
        half = size / 2
        nin = (y + 0.5) / half - 1
        nout = torch.linalg.solve(A[:, None], (nin - t[:, None])[..., None])[..., 0]
        y = (nout + 1) * half - 0.5
    col = u(n) < p_color
    if col.any():
        contrast = torch.where(col, 0.9 + 0.2 * u(n), torch.ones(n))[:, None, None, None]
        bright = torch.where(col, (u(n) * 2 - 1) * 0.06, torch.zeros(n))[:, None, None, None]
        gain = torch.where(col[:, None], 1 + (u(n, 3) * 2 - 1) * 0.04, torch.ones(n, 3))[:, :, None, None]
        x = (x * contrast * gain + bright).clamp(-1, 1)
    blur = u(n) < p_blur
    if blur.any():
        x = gaussian_blur(x, torch.where(blur, 0.3 + 1.3 * u(n), torch.zeros(n)))
    noise = u(n) < p_noise
    if noise.any():
        std = torch.where(noise, 0.04 * u(n), torch.zeros(n))[:, None, None, None]
        x = x + std * torch.randn(x.shape, generator=gen)
    return x, y

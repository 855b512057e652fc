"""The packed training set: DIR/images.u8 (uint8 N x S x S x 3, row-major RGB) + DIR/meta.json {count, size}."""
import json
import os

import numpy as np
import torch


class PackedImages:
    def __init__(self, path, seed=0):
        with open(os.path.join(path, 'meta.json')) as f:
            meta = json.load(f)
        self.count, self.size = int(meta['count']), int(meta['size'])
        self.version = int(meta.get('version', 1))  # training/faces dataset version; packs before it are version 1
        # memmap: the pack (N * 48 KiB) need not fit in RAM alongside training.
        self.images = np.memmap(os.path.join(path, 'images.u8'), dtype=np.uint8, mode='r',
                                shape=(self.count, self.size, self.size, 3))
        self.rng = np.random.RandomState(seed)
        self.perm, self.pos = self.rng.permutation(self.count), 0

    def next_batch(self, n, mirror=False):
        """-> float tensor [n, 3, S, S] in [-1, 1]; walks shuffled epochs so every image is seen equally often."""
        idx = []
        while len(idx) < n:
            if self.pos >= self.count:
                self.perm, self.pos = self.rng.permutation(self.count), 0
            take = min(n - len(idx), self.count - self.pos)
            idx.extend(self.perm[self.pos:self.pos + take].tolist())
            self.pos += take
        x = np.stack([self.images[i] for i in idx])
        if mirror:
            flip = self.rng.rand(n) < 0.5
            x[flip] = x[flip, :, ::-1]
        return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1.0

    def state_dict(self):
        return {'rng': self.rng.get_state(), 'perm': self.perm, 'pos': self.pos}

    def load_state_dict(self, s):
        if len(s['perm']) != self.count:  # dataset changed size: keep the RNG, start a fresh epoch
            self.rng.set_state(s['rng'])
            self.perm, self.pos = self.rng.permutation(self.count), 0
            return
        self.rng.set_state(s['rng'])
        self.perm, self.pos = s['perm'], s['pos']

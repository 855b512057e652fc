"""Shared helpers for the generator quality checks: paths, threads, model info, samples, reals, JSON.

Import this before torch in a script's entry point (it sets OMP_WAIT_POLICY=PASSIVE, which matters when
another process holds one of the cores; see training/stylegan2/README.md).
"""
import hashlib
import json
import os
import sys
import time

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
STYLEGAN2 = os.path.join(REPO, 'training', 'stylegan2')
LANDMARKS = os.path.join(REPO, 'training', 'landmarks')
for _p in (STYLEGAN2, LANDMARKS):  # module names do not clash except train.py, which is never imported here
    if _p not in sys.path:
        sys.path.append(_p)

import model_file  # noqa: E402
import networks  # noqa: E402

DEFAULT_DATA = '/work/data/faces128'
DEFAULT_CACHE = '/tmp/stabledrag-quality-cache'
# Generated-sample seeds (project seed convention, model_file.seed_z). Disjoint from the grid seeds 0-63.
SEED_BASE = 100_000


def set_threads(n):
    torch.set_num_threads(n)
    torch.manual_seed(0)


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def shown(path):
    """A path as the docs show it: relative to the repo root when inside it (commands run from there)."""
    a = os.path.abspath(path)
    return os.path.relpath(a, REPO) if a.startswith(REPO + os.sep) else a


def model_info(path, cfg):
    """What the result files record about the model, so a report can refuse stale numbers."""
    return {'file': shown(path),
            'sha256': file_sha256(path), 'bytes': os.path.getsize(path),
            'name': cfg.get('name'), 'kimg': (cfg.get('training') or {}).get('kimg')}


def load_generator(path):
    """-> (G eval fp32, cfg). Uses training's fast resampling: the same math as the reference formulation
    (test_networks.py checks it; max |diff| ~1e-6 before uint8 rounding), ~2.5x faster on CPU."""
    networks.set_fast_resample(True)
    return model_file.load_generator(path)


def generate_uint8(G, seeds, psi, batch=16, log=None):
    """Seeds -> uint8 [N, H, W, 3] in the engine display convention (pngio.to_uint8), const noise."""
    out = np.empty((len(seeds), G.img_resolution, G.img_resolution, 3), dtype=np.uint8)
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, len(seeds), batch):
            z = torch.cat([model_file.seed_z(s, G.z_dim) for s in seeds[i:i + batch]])
            img = G(z, psi=psi, noise_mode='const')
            x = torch.clamp(torch.round((img + 1.0) * 127.5), 0, 255).to(torch.uint8)
            out[i:i + len(z)] = x.permute(0, 2, 3, 1).numpy()
            if log and (i // batch) % 25 == 24:
                done = i + len(z)
                log(f'  generated {done}/{len(seeds)} ({done / (time.time() - t0):.1f} img/s)')
    return out


def samples(model_path, G, seeds, psi, cache_dir=DEFAULT_CACHE, sha=None, log=print):
    """generate_uint8 with an on-disk cache keyed by the model file's sha256, psi and the seed list, so the
    two checks and the model card share one generation pass. cache_dir '' disables the cache."""
    seeds = list(seeds)
    path = None
    if cache_dir:
        sha = sha or file_sha256(model_path)
        key = hashlib.sha256(json.dumps([sha, float(psi), seeds]).encode()).hexdigest()[:20]
        path = os.path.join(cache_dir, f'samples-{key}.npy')
        if os.path.exists(path):
            log(f'{len(seeds)} samples (psi {psi}) from cache {path}')
            return np.load(path)
    t0 = time.time()
    x = generate_uint8(G, seeds, psi, log=log)
    log(f'generated {len(seeds)} samples (psi {psi}) in {time.time() - t0:.1f}s')
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        np.save(path + '.tmp.npy', x)
        os.replace(path + '.tmp.npy', path)
    return x


def open_pack(data):
    """-> (images memmap uint8 [N, S, S, 3], meta dict)."""
    with open(os.path.join(data, 'meta.json')) as f:
        meta = json.load(f)
    n, s = int(meta['count']), int(meta['size'])
    images = np.memmap(os.path.join(data, 'images.u8'), dtype=np.uint8, mode='r', shape=(n, s, s, 3))
    return images, meta


def reals(images, idx):
    idx = np.asarray(idx)
    order = np.argsort(idx)  # sequential reads from the memmap, then back to the requested order
    out = np.empty((len(idx),) + images.shape[1:], dtype=np.uint8)
    out[order] = images[idx[order]]
    return out


def to_float(x_uint8):
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1] (x / 127.5 - 1, as training and the detector)."""
    return torch.from_numpy(np.ascontiguousarray(x_uint8)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')


def read_json(path):
    with open(path) as f:
        return json.load(f)

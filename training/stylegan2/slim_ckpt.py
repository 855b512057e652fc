"""Slim checkpoints: a training run's G, G_ema and D weights (safetensors) plus its counters (meta.json), without
optimiser moments, data order or RNG state. A full checkpoint is ~94 MB; a slim F16 one is ~20 MB, small enough
to move a run between this machine and a lent GPU machine (whose transfers are capped), and it is plain tensors,
so it loads on any torch version. train.py --init-from starts a run from one and re-estimates Adam's second
moments before the first update (see train.py, moment warm-up).

    /usr/bin/python3 training/stylegan2/slim_ckpt.py training/runs/faces128 OUT_DIR [--f32]

The input may also be a slim checkpoint dir (e.g. the F32 one a GPU session returns), to rewrite it as F16.
"""
import argparse
import glob
import json
import os

import numpy as np
import torch

import safetensors_io

NETS = ('G', 'G_ema', 'D')
COUNTERS = ('nimg', 'it', 'wall_s', 'gamma')


def latest_checkpoint(run_dir):
    """The run dir's newest ckpt-*.pt (names sort by image count), or None."""
    paths = sorted(glob.glob(os.path.join(run_dir, 'ckpt-*.pt')))
    return paths[-1] if paths else None


def resolve_checkpoint(path):
    """A checkpoint file, or a run dir -> its newest ckpt-*.pt."""
    if os.path.isdir(path):
        found = latest_checkpoint(path)
        if not found:
            raise FileNotFoundError(f'no ckpt-*.pt in {path}')
        return found
    return path


def save(state, out_dir, dtype=np.float16):
    """state: a train.py checkpoint dict. Writes OUT_DIR/{G,G_ema,D}.safetensors and meta.json."""
    os.makedirs(out_dir, exist_ok=True)
    for name in NETS:
        tensors = {k: v.detach().cpu().numpy().astype(dtype) for k, v in state[name].items()}
        safetensors_io.save(os.path.join(out_dir, f'{name}.safetensors'), tensors)
    meta = {k: state[k] for k in COUNTERS}
    meta['pl_mean'] = float(state.get('pl_mean') or 0.0)  # runs from before PL have none: its EMA starts at 0
    meta['d_warmup_until'] = int(state.get('d_warmup_until') or 0)
    meta.update(cfg=state['cfg'], history=state.get('history', []), date=state.get('date'),
                device=state.get('device'), args=state.get('args'))
    with open(os.path.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)


def load(in_dir):
    """-> dict with cfg, G, G_ema, D (float32 state dicts) and the counters, ready for train.py."""
    with open(os.path.join(in_dir, 'meta.json')) as f:
        meta = json.load(f)
    for name in NETS:
        tensors, _ = safetensors_io.load(os.path.join(in_dir, f'{name}.safetensors'))
        meta[name] = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('ckpt', help='checkpoint file, run dir (newest checkpoint) or slim checkpoint dir')
    ap.add_argument('out', help='output dir')
    ap.add_argument('--f32', action='store_true', help='float32 weights (default float16, half the size)')
    args = ap.parse_args()
    if os.path.isfile(os.path.join(args.ckpt, 'meta.json')):
        path, state = args.ckpt, load(args.ckpt)
    else:
        path = resolve_checkpoint(args.ckpt)
        state = torch.load(path, map_location='cpu', weights_only=False)  # our own file: it holds numpy RNG state
    if os.path.abspath(args.out) == os.path.abspath(path):
        raise SystemExit('OUT must differ from the input')
    save(state, args.out, np.float32 if args.f32 else np.float16)
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(args.out, '*')))
    print(f'{path} (kimg {state["nimg"] / 1000:.2f}) -> {args.out} ({size / 1e6:.1f} MB)')


if __name__ == '__main__':
    main()

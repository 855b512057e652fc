"""Render a PNG grid of seeds from an engine model file (seed convention of docs/model-format.md).

    /usr/bin/python3 training/stylegan2/sample_grid.py --model models/faces128/model.safetensors --seeds 0-15
    ... --check-ckpt training/runs/faces128   # also compare against the checkpoint's fp32 G_ema

The check proves the exported file round-trips: same images as the training checkpoint up to fp16 rounding.
"""
import argparse
import os

import numpy as np
import torch

import model_file
import pngio
import slim_ckpt
from networks import Generator

# fp16 weights shift outputs (nominal range [-1, 1]) by ~1e-3 typically; these bounds flag real mismatches.
MAX_ABS_TOL, MEAN_ABS_TOL = 0.05, 0.005


def parse_seeds(s):
    out = []
    for part in s.split(','):
        a, _, b = part.partition('-')
        out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return out


def render(G, seeds, psi):
    """-> float array [N, 3, H, W]; const noise, so deterministic."""
    with torch.no_grad():
        z = torch.cat([model_file.seed_z(s, G.z_dim) for s in seeds])
        return G(z, psi=psi, noise_mode='const').numpy()


def load_ckpt_G_ema(path):
    """A checkpoint file, a run dir (newest checkpoint) or a slim checkpoint dir -> (G_ema, checkpoint dict, path)."""
    if os.path.exists(os.path.join(path, 'meta.json')):
        ckpt = slim_ckpt.load(path)
    else:
        path = slim_ckpt.resolve_checkpoint(path)
        ckpt = torch.load(path, map_location='cpu', weights_only=False)
    G = Generator(ckpt['cfg']).eval()
    G.load_state_dict(ckpt['G_ema'])
    return G, ckpt, path


def compare(G_file, G_ref, seeds, psi):
    """-> (max abs diff, mean abs diff) between the two generators' images."""
    d = np.abs(render(G_file, seeds, psi) - render(G_ref, seeds, psi))
    return float(d.max()), float(d.mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True)
    ap.add_argument('--seeds', default='0-15', help='e.g. 0-15 or 1,5,7')
    ap.add_argument('--psi', type=float, help='truncation (default: the config\'s truncation_psi)')
    ap.add_argument('--cols', type=int, default=8)
    ap.add_argument('--out', help='PNG path (default: next to the model, grid.png)')
    ap.add_argument('--check-ckpt', help='checkpoint file or run dir to compare against')
    args = ap.parse_args()

    G, cfg = model_file.load_generator(args.model)
    seeds = parse_seeds(args.seeds)
    psi = args.psi if args.psi is not None else cfg.get('truncation_psi', 0.7)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.model)), 'grid.png')
    imgs = render(G, seeds, psi)
    pngio.write_png(out, pngio.grid([pngio.to_uint8(x) for x in imgs], min(args.cols, len(seeds))))
    print(f'wrote {out} ({len(seeds)} seeds, psi {psi})')

    if args.check_ckpt:
        G_ref, _, path = load_ckpt_G_ema(args.check_ckpt)
        mx, mean = compare(G, G_ref, seeds, psi)
        ok = mx < MAX_ABS_TOL and mean < MEAN_ABS_TOL
        print(f'vs {path} G_ema: max |diff| {mx:.5f}, mean {mean:.6f} -> {"OK" if ok else "MISMATCH"}')
        raise SystemExit(0 if ok else 1)


if __name__ == '__main__':
    main()

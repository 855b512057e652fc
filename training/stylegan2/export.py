"""Export a training checkpoint's G_ema as the engine model file (F16 safetensors + config metadata).

    /usr/bin/python3 training/stylegan2/export.py --ckpt training/runs/faces128 [--out models/faces128/model.safetensors]

Afterwards reloads the file and compares its images with the fp32 G_ema (see sample_grid.py).
"""
import argparse
import os
import time

import numpy as np

import model_file
from sample_grid import MAX_ABS_TOL, MEAN_ABS_TOL, compare, load_ckpt_G_ema

MAX_BYTES = 20 * 1024 * 1024  # the model ships with the app; keep the download small


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', default='training/runs/faces128', help='checkpoint file or run dir (latest checkpoint)')
    ap.add_argument('--out', default='models/faces128/model.safetensors')
    ap.add_argument('--f32', action='store_true', help='store F32 instead of F16')
    ap.add_argument('--description', help='free-form description stored in the config')
    args = ap.parse_args()

    G, ckpt, path = load_ckpt_G_ema(args.ckpt)
    cfg = dict(ckpt['cfg'])
    targs = ckpt.get('args', {})
    cfg['training'] = {
        'kimg': round(ckpt['nimg'] / 1000, 3),
        'wall_hours': round(ckpt['wall_s'] / 3600, 2),
        'device': ckpt.get('device', 'cpu'),
        'threads': targs.get('threads'),
        'date': ckpt.get('date'),
        'exported': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        'batch': targs.get('batch'), 'r1_gamma': ckpt.get('gamma'), 'style_mixing': targs.get('style_mixing'),
        'mirror': targs.get('mirror'), 'data': targs.get('data'), 'checkpoint': os.path.basename(path),
        'pl_weight': targs.get('pl_weight', 0),
        'recipe': 'stylegan2-ada (no augmentation, '
                  + (f'path-length reg {targs["pl_weight"]:g}' if targs.get('pl_weight') else 'no path-length reg')
                  + '), G_ema',
        'history': ckpt.get('history', []),
    }
    if args.description:
        cfg['description'] = args.description

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model_file.save_generator(args.out, G, cfg, np.float32 if args.f32 else np.float16)
    size = os.path.getsize(args.out)
    print(f'wrote {args.out}: {size / 1e6:.2f} MB, kimg {cfg["training"]["kimg"]}, from {path}')
    if size >= MAX_BYTES:
        raise SystemExit(f'model file is {size} bytes, over the {MAX_BYTES} limit')

    G_file, _ = model_file.load_generator(args.out)
    mx, mean = compare(G_file, G, list(range(8)), cfg.get('truncation_psi', 0.7))
    ok = mx < MAX_ABS_TOL and mean < MEAN_ABS_TOL
    print(f'round trip vs fp32 G_ema (8 seeds): max |diff| {mx:.5f}, mean {mean:.6f} -> {"OK" if ok else "MISMATCH"}')
    raise SystemExit(0 if ok else 1)


if __name__ == '__main__':
    main()

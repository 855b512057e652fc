"""Parity fixture for the TypeScript detector: a few inputs and the PyTorch outputs of the exported file.

  /usr/bin/python3 training/landmarks/make_fixture.py [--model models/landmarks/detector.safetensors]

Writes tests/fixtures/landmarks/inputs.u8 (uint8 [K, 128, 128, 3] RGB) and expected.json (PyTorch outputs
in engine pixel coordinates, ground truth, and the SHA-256 of the model file they were computed with, so the
test can tell a stale fixture from a parity failure). Inputs: held-out renders, one blurred and one noisy
(rounded to uint8 before inference, so both sides see the same bytes).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.append(os.path.join(REPO, 'training', 'stylegan2'))  # for safetensors_io (appended: its train.py must not shadow ours)
import safetensors_io  # noqa: E402
from data import Pack, gaussian_blur  # noqa: E402
from export import DEFAULT_OUT, METADATA_KEY  # noqa: E402
from model import Detector  # noqa: E402

OUT_DIR = os.path.join(REPO, 'tests', 'fixtures', 'landmarks')


def load_detector(path):
    tensors, meta = safetensors_io.load(path)
    config = json.loads(meta[METADATA_KEY])
    model = Detector(len(config['landmarkNames']))
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    return model.eval(), config


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=DEFAULT_OUT)
    ap.add_argument('--data', default='/work/data/faces128')
    ap.add_argument('--out', default=OUT_DIR)
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, config = load_detector(args.model)
    pack = Pack(args.data)
    idx = [pack.count - 1, pack.count - 500, pack.count - 1000]  # held-out renders
    x, gt = pack.batch(idx)
    gt = gt[np.argsort(np.argsort(idx))]  # Pack.batch sorts the indices
    x = x[np.argsort(np.argsort(idx))]
    u8 = ((x + 1) * 127.5).round().clamp(0, 255)
    blurred = gaussian_blur(x[:1], torch.tensor([1.0]))
    noisy = x[1:2] + 0.05 * torch.randn(x[1:2].shape, generator=torch.Generator().manual_seed(0))
    extra = ((torch.cat([blurred, noisy]) + 1) * 127.5).round().clamp(0, 255)
    images = torch.cat([u8, extra]).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()  # NHWC
    kinds = ['render'] * len(idx) + ['render, blurred sigma 1', 'render, noise std 0.05']
    truth = torch.cat([gt, gt[:2]]).numpy()
    with torch.no_grad():
        out = model(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0).numpy()

    os.makedirs(args.out, exist_ok=True)
    images.tofile(os.path.join(args.out, 'inputs.u8'))
    with open(args.model, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    fixture = {
        'model': os.path.relpath(os.path.abspath(args.model), REPO),
        'modelSha256': digest,
        'count': int(images.shape[0]), 'size': int(images.shape[1]),
        'inputs': 'inputs.u8: uint8 [count, size, size, 3] RGB row-major',
        'kinds': kinds,
        'sourceIndices': [int(i) for i in idx] + [idx[0], idx[1]],
        'landmarkNames': config['landmarkNames'],
        'expected': [[round(float(v), 5) for v in o.reshape(-1)] for o in out],
        'groundTruth': [[round(float(v), 4) for v in t.reshape(-1)] for t in truth],
    }
    with open(os.path.join(args.out, 'expected.json'), 'w') as f:
        json.dump(fixture, f, indent=1)
    err = np.linalg.norm(out - truth, axis=-1).mean(1)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    kinds_text = '; '.join(kinds)
    print(f'wrote {args.out}: {images.shape[0]} images ({kinds_text}); mean error vs truth '
          f'{", ".join(f"{e:.2f}" for e in err)} px; {total} bytes')


if __name__ == '__main__':
    main()

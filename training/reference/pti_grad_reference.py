"""Reference weight gradients for pivotal tuning (engine/src/generator/stylegan2/trainable.ts), from PyTorch
autograd through the repository's plain-PyTorch StyleGAN2 (training/stylegan2/networks.py):

    /usr/bin/python3 training/reference/pti_grad_reference.py

Uses the parity fixture tests/fixtures/stylegan2/sg2-128-map2 (the official generator's random weights and its
synthesis output at sample points, from stylegan2_reference.py). First it checks that networks.py renders the
official image at those points (so the gradients below are the official network's), then, for
L = sum(synthesis(ws, noise_mode='const') * dy) with dy = numpy RandomState(7).randn(1, 128, 128, 3) (NHWC,
what the test regenerates with numpyRandn), it writes tests/fixtures/pti/expected.safetensors (float32):

- `grad.<name>` for every tensor PTI tunes (synthesis conv and ToRGB weights, their biases, their affine
  weights and biases), in the state-dict layout;
- `loss`: L, shape [1].
"""
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import model_file  # noqa: E402
import safetensors_io  # noqa: E402

FIXTURE = os.path.join(ROOT, 'tests', 'fixtures', 'stylegan2', 'sg2-128-map2')
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'pti', 'expected.safetensors')
DY_SEED = 7


def tuned(name):
    if not name.startswith('synthesis.'):
        return False
    last = name.split('.')[-1]
    return last in ('weight', 'bias')


def main():
    torch.manual_seed(0)
    G, cfg = model_file.load_generator(os.path.join(FIXTURE, 'model.safetensors'))
    expected, _ = safetensors_io.load(os.path.join(FIXTURE, 'expected.safetensors'))
    ws = torch.from_numpy(expected['ws'].astype(np.float32))
    img = G.synthesis(ws, noise_mode='const')  # [1, 3, H, W]
    pts = expected['points'].astype(np.int64)  # (x, y) pairs
    at = img[0].detach().permute(1, 2, 0).numpy()[pts[:, 1], pts[:, 0]]
    ref = expected['image_at_points']
    err = np.abs(at - ref).max() / np.abs(ref).max()
    print(f'networks.py vs official image at {len(pts)} points: max relative error {err:.2e}')
    assert err < 1e-4, 'networks.py does not reproduce the official synthesis'
    h, w = img.shape[2], img.shape[3]
    dy = torch.from_numpy(np.random.RandomState(DY_SEED).randn(1, h, w, 3).astype(np.float32)).permute(0, 3, 1, 2)
    loss = (img * dy).sum()
    params = {n: p for n, p in G.named_parameters() if tuned(n)}
    grads = torch.autograd.grad(loss, list(params.values()))
    out = {f'grad.{n}': g.detach().numpy().astype(np.float32) for n, g in zip(params, grads)}
    out['loss'] = np.array([loss.item()], dtype=np.float32)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    safetensors_io.save(OUT, out, {'stabledrag.fixture': f'pti grads of sg2-128-map2, dy seed {DY_SEED}'})
    print(f'wrote {OUT}: {len(params)} gradients, loss {loss.item():.6f}')


if __name__ == '__main__':
    main()

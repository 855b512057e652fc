"""Parity fixtures for the engine's LPIPS-VGG16 distance (engine/src/invert/lpips.ts) and the LPIPS importer
(engine/src/import/lpips/), on RANDOM weights of a reduced-width VGG16 (widths 8, 16, 16, 32, 32 instead of
64, 128, 256, 512, 512; the same 13 convolutions in 5 stages), so the fixtures stay small:

    /usr/bin/python3 training/reference/lpips_reference.py

The reference forward pass is written here with torch ops, following LPIPS v0.1 (Zhang et al. 2018, the
`lpips` package, net='vgg'): the ScalingLayer ((x - shift) / scale), torchvision's VGG16 `features` with the
activations after relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3, each unit-normalised over channels
(x / (sqrt(sum x^2) + 1e-10)), squared difference, a bias-free 1x1 conv with non-negative weights per layer,
spatial mean, summed over layers. Writes tests/fixtures/lpips/:

- lpips-small.safetensors: the weights in the engine's format (`features.N.weight/bias`, `lin{k}.weight`);
- expected.safetensors (float32, NHWC): `x0`, `x1` [1, 36, 36, 3] in [-1, 1] (36 px so every max-pool floors
  an odd side: 36, 18, 9, 4, 2), `distance` [1] and `grad_x0` [1, 36, 36, 3], d distance / d x0;
- vgg-small.pth: the linear layers as the lpips package saves them (state dict `lin{k}.model.1.weight`),
  torch.save's zip format, stored entries;
- vgg16-small.pth: the VGG16 state dict as torchvision names it (`features.N.*` and `classifier.*`, the
  classifier small here and ignored by the importer);
- vgg-small-legacy.pth, vgg16-small-legacy.pth: the same two in torch.save's legacy (non-zip) format, the
  one the published vgg.pth and vgg16-397923af.pth use.
"""
import collections
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import safetensors_io  # noqa: E402

WIDTHS = [8, 16, 16, 32, 32]
# torchvision's VGG16 `features` indices of the convolutions, per stage; each conv is followed by a ReLU and
# each stage by a 2x2 max-pool (the tap is the last ReLU of a stage, before its pool).
STAGES = [[0, 2], [5, 7], [10, 12, 14], [17, 19, 21], [24, 26, 28]]
SHIFT = torch.tensor([-.030, -.088, -.188]).view(1, 3, 1, 1)
SCALE = torch.tensor([.458, .448, .450]).view(1, 3, 1, 1)


def make_weights(gen):
    w, cin = {}, 3
    for stage, width in zip(STAGES, WIDTHS):
        for idx in stage:
            fan_in = cin * 9
            w[f'features.{idx}.weight'] = torch.randn(width, cin, 3, 3, generator=gen) * (2 / fan_in) ** 0.5
            w[f'features.{idx}.bias'] = torch.randn(width, generator=gen) * 0.1
            cin = width
    for k, width in enumerate(WIDTHS):
        w[f'lin{k}.weight'] = torch.rand(1, width, 1, 1, generator=gen) * 0.5
    return w


def lpips(w, x0, x1):
    def taps(x):
        x = (x - SHIFT) / SCALE
        out = []
        for s, stage in enumerate(STAGES):
            if s > 0:
                x = F.max_pool2d(x, 2, 2)
            for idx in stage:
                x = F.relu(F.conv2d(x, w[f'features.{idx}.weight'], w[f'features.{idx}.bias'], padding=1))
            out.append(x)
        return out

    total = 0
    for k, (a, b) in enumerate(zip(taps(x0), taps(x1))):
        na = a / (torch.sqrt(torch.sum(a ** 2, dim=1, keepdim=True)) + 1e-10)
        nb = b / (torch.sqrt(torch.sum(b ** 2, dim=1, keepdim=True)) + 1e-10)
        total = total + F.conv2d((na - nb) ** 2, w[f'lin{k}.weight']).mean(dim=[2, 3], keepdim=True)
    return total.view(1)


def state_dict(tensors):
    out = collections.OrderedDict(tensors)
    out._metadata = collections.OrderedDict([('', {'version': 1})])
    return out


def main():
    gen = torch.Generator().manual_seed(17)
    w = make_weights(gen)
    x0 = (torch.rand(1, 3, 36, 36, generator=gen) * 2 - 1).requires_grad_(True)
    x1 = torch.clamp(x0.detach() + torch.randn(1, 3, 36, 36, generator=gen) * 0.3, -1, 1)
    d = lpips(w, x0, x1)
    d.sum().backward()
    out = os.path.join(ROOT, 'tests', 'fixtures', 'lpips')
    os.makedirs(out, exist_ok=True)
    nhwc = lambda t: t.detach().permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)
    safetensors_io.save(os.path.join(out, 'lpips-small.safetensors'), {k: v.numpy().astype(np.float32) for k, v in w.items()},
                        {'stabledrag.lpips': '{"net":"vgg","version":"0.1"}'})
    safetensors_io.save(os.path.join(out, 'expected.safetensors'), {
        'x0': nhwc(x0), 'x1': nhwc(x1), 'distance': d.detach().numpy().astype(np.float32), 'grad_x0': nhwc(x0.grad)})
    # OrderedDicts with `_metadata`, as Module.state_dict() returns and the published files hold.
    lin = state_dict({f'lin{k}.model.1.weight': w[f'lin{k}.weight'] for k in range(5)})
    torch.save(lin, os.path.join(out, 'vgg-small.pth'))
    vgg = {k: v for k, v in w.items() if k.startswith('features.')}
    vgg['classifier.0.weight'] = torch.randn(4, 8, generator=gen)
    vgg['classifier.0.bias'] = torch.randn(4, generator=gen)
    vgg = state_dict(vgg)
    torch.save(vgg, os.path.join(out, 'vgg16-small.pth'))
    # The published files (lpips v0.1, torchvision's VGG16) are in torch.save's legacy format.
    torch.save(lin, os.path.join(out, 'vgg-small-legacy.pth'), _use_new_zipfile_serialization=False)
    torch.save(vgg, os.path.join(out, 'vgg16-small-legacy.pth'), _use_new_zipfile_serialization=False)
    print('distance', float(d))


if __name__ == '__main__':
    main()

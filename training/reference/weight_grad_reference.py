"""Reference gradients for the engine's trainable convolution (engine/src/ops/conv-weight-grad.ts), from PyTorch
autograd and the OFFICIAL StyleGAN2-ADA modulated_conv2d (run outside the repository; not copied here):

    /usr/bin/python3 training/reference/weight_grad_reference.py --official /work/ref/NVlabs+stylegan2-ada-pytorch

Writes tests/fixtures/weight-grad/expected.safetensors (float32, tfjs layouts: activations NHWC, filters
[kh, kw, in, out]). For each case, the forward input(s), a random upstream gradient dy, and the gradients of
sum(out * dy) with respect to every input:

- same_*: F.conv2d, 3x3, padding 1, batch 2, non-square 9x7, 5 -> 6 channels.
- valid_*: F.conv2d, 3x3, padding 0, batch 1, 10x10, 4 -> 3 channels (the shape of StyleGAN2's up-conv).
- mod_*: the official modulated_conv2d (demodulate, padding 1, fused_modconv False and True give the same
  values): gradients with respect to the weight, the styles and x, which PTI needs for every synthesis layer.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import safetensors_io  # noqa: E402


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)


def hwio(w):
    return w.detach().permute(2, 3, 1, 0).contiguous().numpy().astype(np.float32)


def conv_case(prefix, n, h, w, cin, cout, padding, out):
    x = torch.randn(n, cin, h, w, requires_grad=True)
    weight = torch.randn(cout, cin, 3, 3, requires_grad=True)
    y = F.conv2d(x, weight, padding=padding)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    out.update({f'{prefix}_x': nhwc(x), f'{prefix}_w': hwio(weight), f'{prefix}_dy': nhwc(dy), f'{prefix}_y': nhwc(y),
                f'{prefix}_dx': nhwc(x.grad), f'{prefix}_dw': hwio(weight.grad)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True, help='a copy of NVlabs/stylegan2-ada-pytorch')
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures', 'weight-grad', 'expected.safetensors'))
    args = ap.parse_args()
    sys.path.insert(0, args.official)
    from training.networks import modulated_conv2d  # the official implementation, imported from the given path

    torch.manual_seed(20261206)
    out = {}
    conv_case('same', 2, 9, 7, 5, 6, 1, out)
    conv_case('valid', 1, 10, 10, 4, 3, 0, out)

    x = torch.randn(1, 6, 8, 8, requires_grad=True)
    weight = torch.randn(5, 6, 3, 3, requires_grad=True)
    styles = (1 + 0.3 * torch.randn(1, 6)).requires_grad_(True)
    grads = []
    for fused in (False, True):
        for t in (x, weight, styles):
            t.grad = None
        y = modulated_conv2d(x=x, weight=weight, styles=styles, padding=1, demodulate=True, fused_modconv=fused)
        if not grads:
            dy = torch.randn_like(y)
        (y * dy).sum().backward()
        grads.append((y.detach().clone(), x.grad.clone(), weight.grad.clone(), styles.grad.clone()))
    for a, b in zip(grads[0], grads[1]):
        assert torch.allclose(a, b, atol=1e-4), 'fused and unfused modulated_conv2d disagree'
    y, dx, dw, ds = grads[0]
    out.update({'mod_x': nhwc(x), 'mod_w': hwio(weight), 'mod_styles': styles.detach().numpy().astype(np.float32),
                'mod_dy': nhwc(dy), 'mod_y': nhwc(y), 'mod_dx': nhwc(dx), 'mod_dw': hwio(dw), 'mod_dstyles': ds.numpy().astype(np.float32)})
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    safetensors_io.save(args.out, out, {'source': 'torch autograd + official modulated_conv2d (training/reference/weight_grad_reference.py)',
                                         'torch': torch.__version__})
    print(f'wrote {len(out)} tensors to {args.out}')


if __name__ == '__main__':
    main()

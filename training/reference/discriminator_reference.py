"""Parity fixture for the engine's StyleGAN2 discriminator forward pass (engine/src/invert/discriminator.ts), from
the OFFICIAL Discriminator (NVlabs stylegan3's training/networks_stylegan2.py, the D of StyleGAN2-ADA pickles),
which is not part of this repository; point --official at a fetched copy:

    /usr/bin/python3 training/reference/discriminator_reference.py --official /work/ref/NVlabs+stylegan3

Builds the official resnet D at a small real configuration (32 px, channel_base 256, channel_max 32, conv_clamp
1.0 so the clamp acts, mbstd group 4), sets every weight and bias to non-trivial random values (rounded to
float16 so the F16 file holds exactly what ran), and writes tests/fixtures/discriminator/:

- discriminator.safetensors: D's state dict under the official names, metadata `stabledrag.discriminator`
  {class_name, init_kwargs} as `stabledrag import` writes it;
- expected.safetensors (float32, NHWC): `image` [1, 32, 32, 3] (numpy RandomState(3).randn * 0.5), the output
  of every block `features.b32` [1, 16, 16, C], `features.b16`, `features.b8`, and the logit `logit` [1, 1],
  all from D(image, c=None) in float32 on the CPU (the official reference ops, no custom CUDA kernels).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import safetensors_io  # noqa: E402

KWARGS = dict(c_dim=0, img_resolution=32, img_channels=3, architecture='resnet', channel_base=256, channel_max=32,
              num_fp16_res=0, conv_clamp=1.0, epilogue_kwargs=dict(mbstd_group_size=4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True)
    args = ap.parse_args()
    sys.path.insert(0, args.official)
    from training.networks_stylegan2 import Discriminator  # noqa: E402

    torch.manual_seed(21)
    D = Discriminator(**KWARGS).eval()
    with torch.no_grad():
        for name, p in D.named_parameters():
            scale = 0.2 if name.endswith('bias') else 1.0
            p.copy_((torch.randn(p.shape) * scale).half().float())
    img_nhwc = (np.random.RandomState(3).randn(1, 32, 32, 3) * 0.5).astype(np.float32)
    img = torch.from_numpy(img_nhwc).permute(0, 3, 1, 2).contiguous()
    feats = {}
    hooks = [getattr(D, f'b{r}').register_forward_hook(lambda m, i, o, r=r: feats.__setitem__(r, o[0].detach()))
             for r in D.block_resolutions]
    with torch.no_grad():
        logit = D(img, None)
    for h in hooks:
        h.remove()
    out_dir = os.path.join(ROOT, 'tests', 'fixtures', 'discriminator')
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().numpy().astype(np.float16) for k, v in D.state_dict().items()}
    meta = {'class_name': 'training.networks_stylegan2.Discriminator', 'init_kwargs': KWARGS}
    safetensors_io.save(os.path.join(out_dir, 'discriminator.safetensors'), sd, {'stabledrag.discriminator': json.dumps(meta)})
    expected = {'image': img_nhwc, 'logit': logit.numpy().astype(np.float32)}
    for r, f in feats.items():
        expected[f'features.b{r}'] = f.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32)
        clamped = (f.abs() >= KWARGS['conv_clamp'] * np.sqrt(0.5) * 0.999).float().mean().item()
        print(f'b{r}: {tuple(f.shape)}, fraction at the clamp {clamped:.3f}')
    safetensors_io.save(os.path.join(out_dir, 'expected.safetensors'), expected, {'stabledrag.fixture': json.dumps(KWARGS)})
    print('logit', logit.item(), 'tensors', sorted(sd))


if __name__ == '__main__':
    main()

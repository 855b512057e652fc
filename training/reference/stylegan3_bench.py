"""Seconds per forward of the OFFICIAL StyleGAN3 -T and -R synthesis at 256 px with real widths (channel_base
32768, channel_max 512, random weights) on the CPU with the official reference ops, 2 threads: the PyTorch
baseline for scripts/bench-stylegan3.ts (docs/benchmarks.md, "StyleGAN3").

    /usr/bin/python3 training/reference/stylegan3_bench.py /path/to/NVlabs/stylegan3
"""
import sys
import time

import torch

sys.path.insert(0, sys.argv[1])
from training.networks_stylegan3 import Generator  # noqa: E402

torch.set_num_threads(2)
for variant in ['t', 'r']:
    kw = dict(conv_kernel=1, use_radial_filters=True) if variant == 'r' else {}
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3, channel_base=32768, channel_max=512, **kw).eval()
    ws = G.mapping(torch.randn(1, 512), None)
    with torch.no_grad():
        for _ in range(2):
            t0 = time.time()
            G.synthesis(ws)
            print(f'StyleGAN3-{variant.upper()} forward {time.time() - t0:.1f} s', flush=True)

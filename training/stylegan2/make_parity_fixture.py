"""Build the tiny random generator + expected outputs the TypeScript engine's parity test compares against.

Every parameter is given a non-trivial random value (biases, noise strengths, w_avg, mapping biases) so a
dropped term in the engine shows up as a mismatch. Run:
    /usr/bin/python3 training/stylegan2/make_parity_fixture.py [--out tests/fixtures/parity]
"""
import argparse
import json
import os

import numpy as np
import torch

import model_file
import safetensors_io
from networks import Generator

TINY = {
    'architecture': 'stylegan2-ada', 'name': 'parity-tiny',
    'z_dim': 32, 'w_dim': 32, 'mapping_layers': 2, 'mapping_lr_multiplier': 0.01,
    'img_resolution': 32, 'img_channels': 3,
    'channels': {'4': 32, '8': 32, '16': 16, '32': 8},
    'conv_clamp': 256, 'drag_block': 16, 'truncation_psi': 0.7,
}


def randomize(G, gen):
    """Replace ADA's init zeros/ones with random values of realistic magnitude (activations stay O(1))."""
    def rn(shape, scale, offset=0.0):
        return torch.randn(shape, generator=gen) * scale + offset

    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.startswith('mapping.') and name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.3 / G.cfg['mapping_lr_multiplier']))  # stored / lr_mul, effective ~0.3
            elif name.endswith('affine.bias'):
                p.copy_(rn(p.shape, 0.3, 1.0))  # styles around ADA's bias_init 1
            elif name.endswith('noise_strength'):
                p.copy_(rn(p.shape, 0.1))
            elif name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.2))
            else:  # weights and const: ADA's randn init is already non-trivial
                p.copy_(rn(p.shape, 1.0) / (G.cfg['mapping_lr_multiplier'] if name.startswith('mapping.') else 1.0))
        G.mapping.w_avg.copy_(rn(G.mapping.w_avg.shape, 0.5))
        for name, b in G.named_buffers():
            if name.endswith('noise_const'):
                b.copy_(rn(b.shape, 1.0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '../../tests/fixtures/parity'))
    ap.add_argument('--seed', type=int, default=20261126)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    G = Generator(TINY).eval()
    randomize(G, gen)

    z = torch.from_numpy(np.random.RandomState(7).randn(1, TINY['z_dim'])).float()  # seed convention, seed 7
    with torch.no_grad():
        w = G.mapping(z, psi=1.0)[:, 0]
        w_trunc = G.mapping(z, psi=TINY['truncation_psi'])[:, 0]
        # Distinct per-layer vectors so the engine's ws indexing per block/layer is exercised.
        ws = w[:, None, :] + 0.3 * torch.randn(1, G.num_ws, TINY['w_dim'], generator=gen)
        img, feats, imgs = G.synthesis(ws, noise_mode='const', return_features=True)

    expected = {'z': z, 'w': w, 'w_trunc': w_trunc, 'ws': ws, 'img': img, 'img_b16': imgs[16]}
    expected.update({f'features.b{r}': x for r, x in feats.items()})
    expected = {k: v.numpy().astype(np.float32) for k, v in expected.items()}

    model_path = os.path.join(args.out, 'model.safetensors')
    model_file.save_generator(model_path, G, TINY, np.float32)
    info = {'z': 'numpy RandomState(7).randn(1, 32)', 'w': 'mapping(z), psi 1', 'w_trunc': 'psi 0.7',
            'ws': 'w broadcast + 0.3*randn per layer', 'img': "synthesis(ws), noise_mode 'const'",
            'features.bR': 'block R output x (before torgb)', 'img_b16': 'skip image after block 16'}
    safetensors_io.save(os.path.join(args.out, 'expected.safetensors'), expected,
                        {'stabledrag.fixture': json.dumps(info)})

    for k, v in sorted(expected.items()):
        print(f'{k:12s} {str(list(v.shape)):16s} mean {v.mean():+.4f} std {v.std():.4f} absmax {np.abs(v).max():.4f}')
    for f in ('model.safetensors', 'expected.safetensors'):
        print(f, os.path.getsize(os.path.join(args.out, f)), 'bytes')


if __name__ == '__main__':
    main()

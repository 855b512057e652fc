"""Parity fixtures for the engine's StyleGAN3 (-T and -R) from the OFFICIAL generator code (run outside the repo).

The official code is not part of this repository; pass the path of a fetched NVlabs/stylegan3 checkout:

    /usr/bin/python3 training/reference/stylegan3_reference.py --official /work/ref/NVlabs+stylegan3

It runs on the CPU, where the official ops fall back to their reference implementations (upfirdn2d,
bias_act, filtered_lrelu written with standard PyTorch ops), in fp32. For each fixture it builds the official
Generator at a real 256 px configuration with few channels, sets every parameter and the buffers a trained
model would have changed to non-trivial random values (biases, w_avg, magnitude_ema, the input affine so the
learned rotation/translation acts, a user transform with rotation and translation), keeps the designed
filters and the drawn Fourier frequencies as they are, and writes tests/fixtures/stylegan3/<name>/:

- model.safetensors (F32): the G_ema state dict under the official names, the engine config in metadata
  `stabledrag.config` (docs/model-format.md).
- expected.safetensors (F32): z (numpy RandomState(seed).randn), w = mapping(z), w_trunc at the config's psi,
  two w+ latents (ws: w plus per-layer noise so every style index matters; ws2: another seed, truncated), and
  for synthesis(ws) the full output of layer L<drag_layer> (DragGAN's feature_idx 5: margins included, as the
  official layer returns it) and the image at a set of pixels (every border pixel plus random interior ones);
  for ws2 the image at the same pixels.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from stylegan2_reference import at_points, sample_points  # noqa: E402  (one definition of the point sampling)

DRAG_LAYER = 5  # DragGAN's feature_idx for every generator: the output of synthesis layer L5

FIXTURES = {
    # StyleGAN3-T: 3x3 convolutions, separable filters; the official 256 px layout, 16 channels at most.
    'sg3t': dict(z_dim=32, w_dim=32, mapping_layers=2, channel_base=1024, channel_max=16, conv_kernel=3,
                 use_radial_filters=False, conv_clamp=256, seed=21),
    # StyleGAN3-R: 1x1 convolutions, radial downsampling filters; a clamp small enough to act.
    'sg3r': dict(z_dim=32, w_dim=32, mapping_layers=2, channel_base=2048, channel_max=24, conv_kernel=1,
                 use_radial_filters=True, conv_clamp=0.5, seed=22),
}


def randomize(G, gen):
    def rn(shape, scale, offset=0.0):
        return torch.randn(shape, generator=gen) * scale + offset

    lr_mul = 0.01
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.startswith('mapping.') and name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.3 / lr_mul))
            elif name == 'synthesis.input.affine.weight':
                p.copy_(rn(p.shape, 0.3))
            elif name == 'synthesis.input.affine.bias':
                p.copy_(torch.tensor([1.0, 0.4, 0.2, -0.1]))
            elif name.endswith('affine.bias'):
                p.copy_(rn(p.shape, 0.3, 1.0))
            elif name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.2))
            else:
                p.copy_(rn(p.shape, 1.0) / (lr_mul if name.startswith('mapping.') else 1.0))
        G.mapping.w_avg.copy_(rn(G.mapping.w_avg.shape, 0.5))
        for name, b in G.named_buffers():
            if name.endswith('magnitude_ema'):
                b.copy_(torch.rand([], generator=gen) * 1.5 + 0.5)
        # A user transform (inverse, with respect to the image): rotate by 10 degrees and shift.
        a = np.deg2rad(10)
        G.synthesis.input.transform.copy_(torch.tensor([[np.cos(a), np.sin(a), 0.05], [-np.sin(a), np.cos(a), -0.03], [0, 0, 1]], dtype=torch.float32))


def layer_outputs(G, ws):
    feats = []
    hooks = [getattr(G.synthesis, n).register_forward_hook(lambda _m, _i, out: feats.append(out)) for n in G.synthesis.layer_names]
    try:
        img = G.synthesis(ws)
    finally:
        for h in hooks:
            h.remove()
    return img, feats


def engine_config(name, spec, G):
    s = G.synthesis
    return {
        'architecture': 'stylegan3', 'name': name, 'z_dim': spec['z_dim'], 'w_dim': spec['w_dim'], 'c_dim': 0,
        'mapping_layers': spec['mapping_layers'], 'mapping_lr_multiplier': 0.01, 'img_resolution': 256,
        'img_channels': 3, 'conv_clamp': spec['conv_clamp'], 'num_fp16_res': s.num_fp16_res,
        'channel_base': spec['channel_base'], 'channel_max': spec['channel_max'], 'num_layers': s.num_layers,
        'num_critical': s.num_critical, 'first_cutoff': 2, 'first_stopband': 2 ** 2.1, 'last_stopband_rel': 2 ** 0.3,
        'margin_size': s.margin_size, 'output_scale': s.output_scale, 'filter_size': 6, 'lrelu_upsampling': 2,
        'conv_kernel': spec['conv_kernel'], 'use_radial_filters': spec['use_radial_filters'], 'drag_layer': DRAG_LAYER,
        'truncation_psi': 0.7,
        'source': {'format': 'official generator, random weights (training/reference/stylegan3_reference.py)'},
    }


def make(name, spec, out_root):
    from training.networks_stylegan3 import Generator
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(spec['seed'])
    gen = torch.Generator().manual_seed(spec['seed'])
    G = Generator(z_dim=spec['z_dim'], c_dim=0, w_dim=spec['w_dim'], img_resolution=256, img_channels=3,
                  mapping_kwargs=dict(num_layers=spec['mapping_layers']), channel_base=spec['channel_base'],
                  channel_max=spec['channel_max'], conv_kernel=spec['conv_kernel'],
                  use_radial_filters=spec['use_radial_filters'], conv_clamp=spec['conv_clamp']).eval()
    randomize(G, gen)
    config = engine_config(name, spec, G)
    z = torch.from_numpy(np.random.RandomState(spec['seed']).randn(1, spec['z_dim'])).float()
    z2 = torch.from_numpy(np.random.RandomState(spec['seed'] + 100).randn(1, spec['z_dim'])).float()
    with torch.no_grad():
        w = G.mapping(z, None, truncation_psi=1)[:, 0]
        w_trunc = G.mapping(z, None, truncation_psi=config['truncation_psi'])[:, 0]
        ws = w[:, None, :] + 0.3 * torch.randn(1, G.num_ws, spec['w_dim'], generator=gen)
        ws2 = G.mapping(z2, None, truncation_psi=config['truncation_psi'])
        img, feats = layer_outputs(G, ws)
        img2 = G.synthesis(ws2)
    pts = sample_points(256, 256, 2048, np.random.RandomState(spec['seed']))
    expected = dict(z=z, w=w, w_trunc=w_trunc, ws=ws, ws2=ws2, features=feats[DRAG_LAYER],
                    points=torch.from_numpy(pts).float(), image_at_points=at_points(img, pts),
                    image2_at_points=at_points(img2, pts))
    state = {k: v.detach().numpy().astype(np.float32) for k, v in G.state_dict().items()}
    safetensors_io.save(os.path.join(out, 'model.safetensors'), state, {'stabledrag.config': json.dumps(config)})
    info = {'drag_layer': DRAG_LAYER, 'layer_name': G.synthesis.layer_names[DRAG_LAYER], 'seed': spec['seed'],
            'points': 'image pixels (x, y): every border pixel + 2048 random interior ones'}
    safetensors_io.save(os.path.join(out, 'expected.safetensors'),
                        {k: v.detach().numpy().astype(np.float32) for k, v in expected.items()},
                        {'stabledrag.fixture': json.dumps(info)})
    clamp = spec['conv_clamp']
    clamped = sum(int((f.abs() >= clamp * 0.999).sum()) for f in feats)
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in ('model.safetensors', 'expected.safetensors')}
    print(name, G.synthesis.layer_names, f'{clamped} layer outputs at the clamp', 'img absmax %.3f' % img.abs().max().item(),
          'features absmax %.3f' % feats[DRAG_LAYER].abs().max().item(), sizes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True, help='path of a fetched NVlabs/stylegan3 checkout')
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures', 'stylegan3'))
    args = ap.parse_args()
    sys.path.insert(0, args.official)
    for name, spec in FIXTURES.items():
        make(name, spec, args.out)


if __name__ == '__main__':
    main()

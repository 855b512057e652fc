"""Parity fixtures for the engine's StyleGAN2 from the OFFICIAL generator code (run outside the repository).

The official code is not part of this repository; point PYTHONPATH (or --official) at a fetched copy:

    # StyleGAN2 (NVlabs stylegan3's training/networks_stylegan2.py, the network DragGAN runs for stylegan2-* pickles)
    PYTHONPATH=/work/ref/NVlabs+stylegan3 /usr/bin/python3 training/reference/stylegan2_reference.py \
        --network stylegan2 --official /work/ref/NVlabs+stylegan3
    # StyleGAN-Human (DragGAN's stylegan_human/training_scripts/sg2/training/networks.py, non-square)
    PYTHONPATH=/work/ref/XingangPan+DragGAN /usr/bin/python3 training/reference/stylegan2_reference.py \
        --network human --official /work/ref/XingangPan+DragGAN

For each fixture it builds the official Generator at a small but real configuration, sets every parameter and
buffer to non-trivial random values (biases, noise strengths, w_avg, noise buffers; rounded to float16 so the
F16 model file holds exactly the weights the reference ran with), and writes tests/fixtures/stylegan2/<name>/:

- model.safetensors: the weights under the official G_ema state-dict names, the engine config in metadata
  `stabledrag.config` (docs/model-format.md).
- expected.safetensors (float32): z (seed convention: numpy RandomState(seed).randn), w = mapping(z) at psi 1,
  w_trunc at the config's psi, ws (w broadcast plus per-layer noise so every style index matters), and for
  synthesis(ws, noise_mode='const', force_fp32=True): the full features of block 6 (DragGAN's feature_idx 5)
  and, at a set of image pixels (every border pixel plus random interior ones), the image and those features
  bilinearly resized to the image size with F.interpolate as DragGAN's viz/renderer.py does. Image-sized
  tensors are stored at points only, to keep each fixture small.
"""
import argparse
import importlib
import importlib.util
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import safetensors_io  # noqa: E402

FEATURE_IDX = 5  # DragGAN's default feature_idx: the output of the 6th synthesis block

FIXTURES = {
    # A 256 px StyleGAN2 as real checkpoints are configured (8 mapping layers, fp16 on the top 4 resolutions,
    # conv_clamp 256), with few channels.
    'sg2-256-map8': dict(network='stylegan2', z_dim=32, w_dim=32, mapping_layers=8, img_resolution=256,
                         channel_base=512, channel_max=32, num_fp16_res=4, conv_clamp=256, seed=11),
    # 2 mapping layers (StyleGAN2-ADA's small-data configs) and a conv_clamp small enough to act.
    'sg2-128-map2': dict(network='stylegan2', z_dim=24, w_dim=24, mapping_layers=2, img_resolution=128,
                         channel_base=512, channel_max=16, num_fp16_res=0, conv_clamp=1.5, seed=12),
    # StyleGAN-Human's non-square generator: 512 high, 256 wide; references with and without DragGAN's padding.
    'human-512x256': dict(network='human', z_dim=32, w_dim=32, mapping_layers=8, img_resolution=512,
                          channel_base=512, channel_max=32, num_fp16_res=4, conv_clamp=256, seed=13),
}


def randomize(G, gen, lr_mul):
    def rn(shape, scale, offset=0.0):
        return torch.randn(shape, generator=gen) * scale + offset

    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.startswith('mapping.') and name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.3 / lr_mul))
            elif name.endswith('affine.bias'):
                p.copy_(rn(p.shape, 0.3, 1.0))
            elif name.endswith('noise_strength'):
                p.copy_(rn(p.shape, 0.1))
            elif name.endswith('.bias'):
                p.copy_(rn(p.shape, 0.2))
            else:
                p.copy_(rn(p.shape, 1.0) / (lr_mul if name.startswith('mapping.') else 1.0))
            p.copy_(p.half().float())
        G.mapping.w_avg.copy_(rn(G.mapping.w_avg.shape, 0.5).half().float())
        for name, b in G.named_buffers():
            if name.endswith('noise_const'):
                b.copy_(rn(b.shape, 1.0).half().float())


def build(spec, official):
    kwargs = dict(z_dim=spec['z_dim'], c_dim=0, w_dim=spec['w_dim'], img_resolution=spec['img_resolution'],
                  img_channels=3, mapping_kwargs=dict(num_layers=spec['mapping_layers']))
    synthesis = dict(channel_base=spec['channel_base'], channel_max=spec['channel_max'],
                     num_fp16_res=spec['num_fp16_res'], conv_clamp=spec['conv_clamp'])
    if spec['network'] == 'stylegan2':
        Generator = importlib.import_module('training.networks_stylegan2').Generator
        return lambda padding=False: Generator(**kwargs, **synthesis).eval()
    # Loaded by path: its package name ('training') is also the name of the repository's own training package.
    path = os.path.join(official, 'stylegan_human', 'training_scripts', 'sg2', 'training', 'networks.py')
    module_spec = importlib.util.spec_from_file_location('stylegan_human_networks', path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # the official persistence decorator looks its module up here
    module_spec.loader.exec_module(module)
    Generator = module.Generator
    return lambda padding=False: Generator(**kwargs, square=False, synthesis_kwargs=synthesis, padding=padding).eval()


def block_features(G, ws):
    """Image and every block's output x, captured with forward hooks (the official forward is untouched)."""
    feats = []
    hooks = [getattr(G.synthesis, f'b{r}').register_forward_hook(lambda _m, _i, out: feats.append(out[0]))
             for r in G.synthesis.block_resolutions]
    try:
        img = G.synthesis(ws, noise_mode='const', force_fp32=True)
    finally:
        for h in hooks:
            h.remove()
    return img, feats


def sample_points(height, width, count, rng):
    """Every border pixel plus `count` random interior pixels, as [N, 2] (x, y)."""
    border = {(x, y) for x in range(width) for y in (0, height - 1)} | {(x, y) for y in range(height) for x in (0, width - 1)}
    inner = set()
    while len(inner) < count:
        inner.add((int(rng.randint(1, width - 1)), int(rng.randint(1, height - 1))))
    return np.array(sorted(border | inner), dtype=np.int64)


def at_points(t, pts):
    """[1, C, H, W] -> [N, C] at pixels (x, y)."""
    return t[0, :, pts[:, 1], pts[:, 0]].T.contiguous()


def engine_config(name, spec, G):
    res = spec['img_resolution']
    channels = {str(r): int(getattr(G.synthesis, f'b{r}').conv1.weight.shape[0]) for r in G.synthesis.block_resolutions}
    config = {
        'architecture': 'stylegan2-ada', 'name': name, 'z_dim': spec['z_dim'], 'w_dim': spec['w_dim'], 'c_dim': 0,
        'mapping_layers': spec['mapping_layers'], 'mapping_lr_multiplier': 0.01, 'img_resolution': res,
        'img_channels': 3, 'channels': channels, 'conv_clamp': spec['conv_clamp'], 'num_fp16_res': spec['num_fp16_res'],
        'drag_block': 4 * 2 ** FEATURE_IDX, 'truncation_psi': 0.7,
        'source': {'format': 'official generator, random weights (training/reference/stylegan2_reference.py)'},
    }
    if spec['network'] == 'human':
        config['img_width'] = res // 2
        config['domain'] = 'people'
    return config


def make(name, spec, official, out_root):
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(spec['seed'])
    make_g = build(spec, official)
    G = make_g()
    randomize(G, gen, 0.01)
    config = engine_config(name, spec, G)

    z = torch.from_numpy(np.random.RandomState(spec['seed']).randn(1, spec['z_dim'])).float()
    expected = {}
    with torch.no_grad():
        w = G.mapping(z, None, truncation_psi=1)[:, 0]
        w_trunc = G.mapping(z, None, truncation_psi=config['truncation_psi'])[:, 0]
        ws = w[:, None, :] + 0.3 * torch.randn(1, G.num_ws, spec['w_dim'], generator=gen)
        img, feats = block_features(G, ws)
    feat = feats[FEATURE_IDX]
    H, W = img.shape[2], img.shape[3]
    rng = np.random.RandomState(spec['seed'])
    pts = sample_points(H, W, 2048, rng)
    resized = F.interpolate(feat, [H, W], mode='bilinear')
    expected.update(z=z, w=w, w_trunc=w_trunc, ws=ws, features=feat, points=torch.from_numpy(pts).float(),
                    image_at_points=at_points(img, pts), features_resized_at_points=at_points(resized, pts))

    if spec['network'] == 'human':
        # DragGAN renders StyleGAN-Human with padding=True: image padded left/right to square with 1, features
        # with 0, then resized to the padded image's size.
        Gp = make_g(padding=True)
        Gp.load_state_dict(G.state_dict())
        with torch.no_grad():
            img_p, feats_p = Gp(ws, None, input_is_w=True, return_feature=True, noise_mode='const', force_fp32=True)
        pad = (H - W) // 2
        assert torch.equal(img_p[..., pad:pad + W], img) and torch.all(img_p[..., :pad] == 1)
        fp = feats_p[FEATURE_IDX]
        assert torch.equal(fp, F.pad(feat, ((H - W) // (H // feat.shape[2]) // 2,) * 2))  # zero-padded, so not stored
        pts_p = sample_points(H, H, 2048, rng)
        resized_p = F.interpolate(fp, [H, H], mode='bilinear')
        expected.update(padded_points=torch.from_numpy(pts_p).float(),
                        padded_image_at_points=at_points(img_p, pts_p),
                        padded_features_resized_at_points=at_points(resized_p, pts_p))

    state = {k: v.detach().numpy() for k, v in G.state_dict().items()}
    tensors = {k: v.astype(np.float16) for k, v in state.items() if not k.endswith('resample_filter')}
    safetensors_io.save(os.path.join(out, 'model.safetensors'), tensors, {'stabledrag.config': json.dumps(config)})
    info = {'feature_idx': FEATURE_IDX, 'noise_mode': 'const', 'force_fp32': True, 'seed': spec['seed'],
            'points': 'image pixels (x, y): every border pixel + 2048 random interior ones'}
    safetensors_io.save(os.path.join(out, 'expected.safetensors'),
                        {k: v.detach().numpy().astype(np.float32) for k, v in expected.items()},
                        {'stabledrag.fixture': json.dumps(info)})
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in ('model.safetensors', 'expected.safetensors')}
    clamped = sum(int((f.abs() == spec['conv_clamp']).sum()) for f in feats)
    print(name, json.dumps(config['channels']), f'{clamped} block outputs at the clamp', 'img absmax %.3f' % img.abs().max().item(),
          'features absmax %.3f' % feat.abs().max().item(), sizes, 'total', sum(sizes.values()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--network', choices=['stylegan2', 'human'], required=True)
    ap.add_argument('--official', required=True, help='path of the fetched official repository')
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures', 'stylegan2'))
    args = ap.parse_args()
    sys.path.insert(0, args.official)
    torch.manual_seed(0)
    for name, spec in FIXTURES.items():
        if spec['network'] == args.network:
            make(name, spec, args.official, args.out)


if __name__ == '__main__':
    main()

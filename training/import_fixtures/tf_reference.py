"""Reference tensors for the TensorFlow-era fixture pickle from NVIDIA's OFFICIAL converter (run outside the repo).

The official code is not part of this repository; point --official at a fetched NVlabs/stylegan2-ada-pytorch:

    /usr/bin/python3 training/import_fixtures/tf_reference.py --official /path/to/NVlabs/stylegan2-ada-pytorch

It unpickles tests/fixtures/pickles/sg2-car-config-f-128-tf.pkl with the official legacy.py (its TF network
stub), converts Gs with legacy.convert_tf_generator into the official PyTorch Generator, and
1. asserts that generator's state dict equals NAME.expected.safetensors (the values the importer must write,
   made by make_pickles.py) exactly, tensor by tensor, so that file is the official converter's output;
2. writes NAME.reference.safetensors: z (numpy RandomState(seed).randn), w = mapping(z) at psi 1, w_trunc at
   psi 0.7, ws (w broadcast + 0.3 randn per style vector) and, for synthesis(ws, noise_mode='const',
   force_fp32=True), the image and the drag block's features (block 6, DragGAN's feature_idx 5, bilinearly
   resized to the image size) at every border pixel and 1024 random interior ones.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))
import safetensors_io  # noqa: E402

NAME = 'sg2-car-config-f-128-tf'
FEATURE_IDX = 5
SEED = 21
PSI = 0.7


def reference_helpers():
    """training/reference/stylegan2_reference.py's hooks and point sampling (one definition of each)."""
    spec = importlib.util.spec_from_file_location('stylegan2_reference', os.path.join(ROOT, 'training', 'reference', 'stylegan2_reference.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_click_stand_in():
    """legacy.py imports click only to decorate its command-line entry point; without click installed, a
    stand-in whose decorators return the function unchanged lets the module import."""
    if importlib.util.find_spec('click') is not None:
        return
    import types
    click = types.ModuleType('click')
    decorator = lambda *a, **k: (lambda fn: fn)  # noqa: E731
    click.command = click.option = click.argument = click.group = click.pass_context = decorator
    sys.modules['click'] = click


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--official', required=True, help='path of the fetched NVlabs/stylegan2-ada-pytorch')
    ap.add_argument('--dir', default=os.path.join(ROOT, 'tests', 'fixtures', 'pickles'))
    args = ap.parse_args()
    sys.path.insert(0, args.official)
    install_click_stand_in()
    import legacy  # noqa: E402  (the official module, from --official)

    ref = reference_helpers()
    with open(os.path.join(args.dir, f'{NAME}.pkl'), 'rb') as f:
        _tf_G, _tf_D, tf_Gs = legacy._LegacyUnpickler(f).load()
    G = legacy.convert_tf_generator(tf_Gs).eval()

    expected, _ = safetensors_io.load(os.path.join(args.dir, f'{NAME}.expected.safetensors'))
    state = {k: v.detach().numpy() for k, v in G.state_dict().items() if not k.endswith('resample_filter')}
    assert sorted(state) == sorted(expected), (sorted(set(state) ^ set(expected)))
    for k, v in state.items():
        assert np.array_equal(v.reshape(expected[k].shape), expected[k]), k
    print(f'{NAME}: the official converter gives exactly the {len(state)} expected tensors')

    gen = torch.Generator().manual_seed(SEED)
    z = torch.from_numpy(np.random.RandomState(SEED).randn(1, G.z_dim)).float()
    with torch.no_grad():
        w = G.mapping(z, None, truncation_psi=1)[:, 0]
        w_trunc = G.mapping(z, None, truncation_psi=PSI)[:, 0]
        ws = w[:, None, :] + 0.3 * torch.randn(1, G.num_ws, G.w_dim, generator=gen)
        img, feats = ref.block_features(G, ws)
    H, W = img.shape[2], img.shape[3]
    pts = ref.sample_points(H, W, 1024, np.random.RandomState(SEED))
    resized = F.interpolate(feats[FEATURE_IDX], [H, W], mode='bilinear')
    out = dict(z=z, w=w, w_trunc=w_trunc, ws=ws, points=torch.from_numpy(pts).float(),
               image_at_points=ref.at_points(img, pts), features_resized_at_points=ref.at_points(resized, pts))
    info = {'feature_idx': FEATURE_IDX, 'noise_mode': 'const', 'force_fp32': True, 'seed': SEED, 'psi': PSI,
            'points': 'image pixels (x, y): every border pixel + 1024 random interior ones',
            'reference': 'stylegan2-ada-pytorch legacy.convert_tf_generator + training/networks.py'}
    path = os.path.join(args.dir, f'{NAME}.reference.safetensors')
    safetensors_io.save(path, {k: v.detach().numpy().astype(np.float32) for k, v in out.items()}, {'stabledrag.fixture': json.dumps(info)})
    print(path, os.path.getsize(path), 'bytes; image absmax %.3f, features absmax %.3f' % (img.abs().max().item(), feats[FEATURE_IDX].abs().max().item()))


if __name__ == '__main__':
    main()

"""Self-checks: fast resampling == reference, safetensors round trip, path-length penalty, parity fixture reproducible.

    /usr/bin/python3 training/stylegan2/test_networks.py
"""
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import model_file
import networks
import path_length
import safetensors_io
import slim_ckpt
from make_parity_fixture import TINY
from networks import Discriminator, Generator, fir_filter, upfirdn2d


def both(fn):
    networks.set_fast_resample(False)
    a = fn()
    networks.set_fast_resample(True)
    b = fn()
    networks.set_fast_resample(False)
    return a, b


def test_fast_matches_reference():
    torch.manual_seed(0)
    G, D = Generator(TINY).eval(), Discriminator(TINY)
    z = torch.randn(4, TINY['z_dim'])
    a, b = both(lambda: G(z, noise_mode='const'))
    assert (a - b).abs().max() < 1e-4, (a - b).abs().max()
    a, b = both(lambda: D(a))
    assert (a - b).abs().max() < 1e-4, (a - b).abs().max()

    def grads():
        G.zero_grad()
        D(G(z, noise_mode='const')).sum().backward()
        return torch.cat([p.grad.flatten() for p in G.parameters()])
    a, b = both(grads)
    assert (a - b).abs().max() < 1e-3 * a.abs().max(), (a - b).abs().max()


def test_upfirdn2d_shapes_and_dc_gain():
    x = torch.ones(1, 2, 8, 8)
    f = fir_filter()
    assert upfirdn2d(x, f, up=2, pad=(2, 1, 2, 1), gain=4).shape == (1, 2, 16, 16)
    y = upfirdn2d(x, f, up=2, pad=(2, 1, 2, 1), gain=4)
    assert torch.allclose(y[:, :, 3:-3, 3:-3], torch.ones(1)), 'interior of an upsampled constant stays constant'
    assert upfirdn2d(x, f, down=2, pad=(1, 1, 1, 1)).shape == (1, 2, 4, 4)


def test_safetensors_round_trip():
    torch.manual_seed(1)
    G = Generator(TINY).eval()
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 'm.safetensors')
        model_file.save_generator(p, G, TINY, np.float16)
        tensors, meta = safetensors_io.load(p)
        assert all(v.dtype == np.float16 for v in tensors.values())
        assert 'synthesis.b32.torgb.weight' in tensors and not any('resample_filter' in k for k in tensors)
        G2, cfg = model_file.load_generator(p)
        assert cfg == TINY
        z = model_file.seed_z(3, TINY['z_dim'])
        a, b = G(z, noise_mode='const'), G2(z, noise_mode='const')
        assert (a - b).abs().max() < 2e-2, (a - b).abs().max()


def test_slim_checkpoint_round_trip():
    torch.manual_seed(2)
    G, D = Generator(TINY), Discriminator(TINY)
    state = {'cfg': TINY, 'G': G.state_dict(), 'G_ema': G.state_dict(), 'D': D.state_dict(), 'nimg': 4096,
             'it': 256, 'wall_s': 12.5, 'gamma': 0.2, 'device': 'cpu', 'args': {'batch': 16},
             'history': [{'device': 'cpu', 'kimg_from': 0, 'kimg_to': 4.096, 'wall_s': 12}], 'pl_mean': 0.25}
    with tempfile.TemporaryDirectory() as d:
        for dtype, tol in ((np.float32, 0), (np.float16, 2e-3)):
            slim_ckpt.save(state, d, dtype)
            back = slim_ckpt.load(d)
            assert back['cfg'] == TINY and back['nimg'] == 4096 and back['history'] == state['history']
            assert back['pl_mean'] == 0.25
            G2, D2 = Generator(TINY), Discriminator(TINY)
            G2.load_state_dict(back['G'])  # strict: every persistent tensor came back under its name
            D2.load_state_dict(back['D'])
            for k, v in D.state_dict().items():
                assert (back['D'][k] - v).abs().max() <= tol * max(1.0, v.abs().max().item()), k


def test_path_length_penalty_reaches_synthesis_weights():
    torch.manual_seed(4)
    G = Generator(TINY).train()
    for fast in (False, True):  # the fast resampler's custom backward must itself be differentiable
        networks.set_fast_resample(fast)
        G.zero_grad()
        ws = G.mapping(torch.randn(4, TINY['z_dim']))
        img = G.synthesis(ws, noise_mode='random')
        pl_mean = torch.zeros([])
        penalty, lengths, pl_mean = path_length.path_length_penalty(img, ws, pl_mean)
        assert penalty.shape == (4,) and torch.isfinite(penalty).all() and (penalty > 0).all(), penalty
        assert torch.isfinite(lengths).all() and (lengths > 0).all()
        assert torch.isclose(pl_mean, lengths.mean().detach() * path_length.PL_DECAY), (pl_mean, lengths)
        assert not pl_mean.requires_grad, 'the stored EMA must not hold the graph'
        penalty.mean().backward()
        for name, p in G.synthesis.named_parameters():
            if name.endswith('conv1.weight') or name.endswith('torgb.weight') or name.endswith('affine.weight'):
                assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    networks.set_fast_resample(False)


def test_fixture_reproducible():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../tests/fixtures/parity')
    G, cfg = model_file.load_generator(os.path.join(root, 'model.safetensors'))
    exp, _ = safetensors_io.load(os.path.join(root, 'expected.safetensors'))
    z = torch.from_numpy(exp['z'])
    with torch.no_grad():
        assert np.allclose(G.mapping(z)[:, 0].numpy(), exp['w'], atol=1e-5)
        assert np.allclose(G.mapping(z, psi=cfg['truncation_psi'])[:, 0].numpy(), exp['w_trunc'], atol=1e-5)
        img, feats, imgs = G.synthesis(torch.from_numpy(exp['ws']), noise_mode='const', return_features=True)
    assert np.allclose(img.numpy(), exp['img'], atol=1e-5)
    assert np.allclose(imgs[16].numpy(), exp['img_b16'], atol=1e-5)
    for r, x in feats.items():
        assert np.allclose(x.numpy(), exp[f'features.b{r}'], atol=1e-5), r


if __name__ == '__main__':
    for name, fn in list(globals().items()):
        if name.startswith('test_'):
            fn()
            print('ok', name)

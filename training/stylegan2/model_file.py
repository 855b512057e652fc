"""Generator <-> engine model file (docs/model-format.md): tensors by state-dict name, config in metadata."""
import json

import numpy as np
import torch

import safetensors_io
from networks import Generator

CONFIG_KEY = 'stabledrag.config'

# The bundled model's planned config (docs/model-format.md); train.py's default.
FACES128 = {
    'architecture': 'stylegan2-ada',
    'name': 'faces128',
    'z_dim': 256, 'w_dim': 256,
    'mapping_layers': 4, 'mapping_lr_multiplier': 0.01,
    'img_resolution': 128, 'img_channels': 3,
    'channels': {'4': 256, '8': 256, '16': 128, '32': 64, '64': 32, '128': 16},
    'conv_clamp': 256,
    'drag_block': 32,
    'truncation_psi': 0.7,
}


def generator_tensors(G, dtype=np.float32):
    """The persistent state dict (resample_filter buffers are non-persistent, so never written)."""
    return {k: v.detach().cpu().numpy().astype(dtype) for k, v in G.state_dict().items()}


def save_generator(path, G, cfg, dtype=np.float32):
    safetensors_io.save(path, generator_tensors(G, dtype), {CONFIG_KEY: json.dumps(cfg)})


def load_generator(path, device='cpu'):
    """-> (Generator in eval mode, fp32, config dict). Extra *.resample_filter tensors are ignored."""
    tensors, meta = safetensors_io.load(path)
    cfg = json.loads(meta[CONFIG_KEY])
    G = Generator(cfg)
    sd = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items() if not k.endswith('.resample_filter')}
    G.load_state_dict(sd, strict=True)
    return G.to(device).eval(), cfg


def seed_z(seed, z_dim):
    """The project's seed convention: numpy.random.RandomState(seed).randn(1, z_dim)."""
    return torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)).float()

"""The bundled faces model's architecture (one definition, read by train.py and export.py).

Sizes were picked by timing the engine's drag with random weights (training/reference/diffusion_drag_bench.ts
f8, docs/benchmarks.md): 128 px images, a VAE with factor 8 (16x16x4 latents), a 3-level UNet of 32/64/128
channels with attention at 16x16 and 8x8 (wasm's per-op overhead dominates at this size, so a narrower UNet
was not faster), a 1-layer CLIP of width 64.
"""
import torch

import clip_text
from modules import AutoencoderKL, UNet2DConditionModel

IMAGE_SIZE = 128
UNET = dict(sample_size=16, block_out_channels=(32, 64, 128), layers_per_block=1,
            down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
            up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'),
            cross_attention_dim=64, attention_head_dim=4, norm_num_groups=16)
VAE = dict(block_out_channels=(16, 32, 64, 64), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=IMAGE_SIZE)
TEXT_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2, merges=200)

# Neutral prompts the UNet is trained on (one drawn per sample), so that none of them changes the faces.
TRAIN_PROMPTS = ['', 'a face', 'a photo of a face', 'a portrait', 'a portrait of a person', 'a cartoon face',
                 'a drawing of a face', 'face']
TOKENIZER_CORPUS = """a face. a photo of a face. a portrait of a person, smiling, looking left, looking right.
a cartoon face with short hair, long hair, dark hair, blond hair, red hair. a drawing of a face with open mouth,
closed eyes, big eyes, small nose, round face, narrow face, pale skin, dark skin. a man, a woman, a child."""

SCHEDULER = dict(_class_name='DDIMScheduler', _diffusers_version='0.21.4', num_train_timesteps=1000, beta_start=0.00085,
                 beta_end=0.012, beta_schedule='scaled_linear', trained_betas=None, clip_sample=False, set_alpha_to_one=False,
                 steps_offset=1, prediction_type='epsilon', thresholding=False, dynamic_thresholding_ratio=0.995,
                 clip_sample_range=1.0, sample_max_value=1.0, timestep_spacing='leading', rescale_betas_zero_snr=False)


def ddim_alphas_cumprod():
    """SD's scaled_linear betas: linspace of sqrt(beta), squared."""
    betas = torch.linspace(SCHEDULER['beta_start'] ** 0.5, SCHEDULER['beta_end'] ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def text_model_config(vocab_size):
    c = TEXT_CONFIG
    return dict(architectures=['CLIPTextModel'], model_type='clip_text_model', vocab_size=vocab_size,
                hidden_size=c['hidden_size'], intermediate_size=c['intermediate_size'], num_hidden_layers=c['num_hidden_layers'],
                num_attention_heads=c['num_attention_heads'], max_position_embeddings=77, hidden_act='quick_gelu',
                layer_norm_eps=1e-5, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=1,
                projection_dim=c['hidden_size'])


def make_models():
    """-> (text encoder, UNet, VAE), freshly initialised (torch's default init; seed before calling)."""
    _, vocab = clip_text.make_tokenizer(TOKENIZER_CORPUS, TEXT_CONFIG['merges'])
    return clip_text.CLIPTextModel(text_model_config(vocab)).eval(), UNet2DConditionModel(**UNET), AutoencoderKL(**VAE)

"""Tiny random Stable-Diffusion-1.x-layout models and their reference outputs, for the engine's parity test.

Usage: python3 training/reference/diffusion_tiny.py DIFFUSERS_SRC [OUT_DIR]
  DIFFUSERS_SRC: the `src` folder of a diffusers checkout (v0.21.4 runs on torch 1.13), kept OUTSIDE the
  repository; put stand-ins for huggingface_hub/safetensors on PYTHONPATH when those packages are missing.
  OUT_DIR defaults to tests/fixtures/diffusion/tiny.

Writes a diffusers-layout folder (unet/, vae/, text_encoder/, tokenizer/, scheduler/) and reference.safetensors
with the inputs, outputs and the UNet's up-block features (DragDiffusion's motion supervision reads these), a
DDIM inversion (DragDiffusion's inv_step) then denoising (diffusers' DDIMScheduler.step) on the tiny UNet, and
the gradient of a loss on the last up block's features with respect to the latent.

The CLIP text encoder and tokenizer (training/diffusion/clip_text.py) transcribe transformers' CLIPTextModel
and CLIPTokenizer (the transformers snapshot is too large to fetch onto this machine): same state-dict names,
same maths.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import safetensors_io  # noqa: E402
sys.path.insert(0, os.path.join(HERE, '..', 'diffusion'))
import clip_text  # noqa: E402
from clip_text import CLIPTextModel  # noqa: E402

sys.path.insert(0, sys.argv[1])
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel  # noqa: E402

OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, '..', '..', 'tests', 'fixtures', 'diffusion', 'tiny')
torch.manual_seed(0)
np.random.seed(0)


def perturb_norms(model):
    """Default init leaves norms at weight 1 / bias 0, which would hide a transposed or missing affine."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'norm' in name:
                p.add_(0.2 * torch.randn_like(p))


def round_half(model):
    """Weights are stored as F16: the reference runs on the same rounded values the engine will read."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def save_model(model, sub, fname, config):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)
    config = {k: v for k, v in config.items() if k != '_use_default_values'}
    if 'architectures' not in config:
        config = {'_class_name': type(model).__name__, '_diffusers_version': '0.21.4', **config}
    sd = {k: v.detach().numpy().astype(np.float16) for k, v in model.state_dict().items() if k != 'text_model.embeddings.position_ids'}
    safetensors_io.save(os.path.join(OUT, sub, fname), sd, {'format': 'pt'})
    with open(os.path.join(OUT, sub, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)


CORPUS = """a photo of a cat sitting on a chair. a portrait of a smiling woman with long hair, photograph.
the dog runs in the park; a painting of mountains at sunset. close-up face of an old man, detailed, 4k.
a red car parked near the house with trees and flowers. an astronaut riding a horse on the moon."""


def make_tokenizer():
    return clip_text.make_tokenizer(CORPUS, 300, os.path.join(OUT, 'tokenizer'))


SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                 clip_sample=False, set_alpha_to_one=False, steps_offset=1)


def inv_step(sched, eps, t, x):
    """DragDiffusion's DDIM inversion step (drag_pipeline.py inv_step): x at t - ratio -> x at t, eps from t."""
    nxt = t
    t = min(t - sched.config.num_train_timesteps // sched.num_inference_steps, 999)
    a_t = sched.alphas_cumprod[t] if t >= 0 else sched.final_alpha_cumprod
    a_next = sched.alphas_cumprod[nxt]
    x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
    return a_next ** 0.5 * x0 + (1 - a_next) ** 0.5 * eps


def ddim_reference(ref, unet, ctx, steps=10, strength=0.7):
    """Inversion to strength * steps (as DragDiffusion) then denoising back with diffusers' DDIMScheduler.step."""
    sched = DDIMScheduler(**SCHEDULER)
    sched.set_timesteps(steps)
    actual = int(steps * strength)
    x = torch.randn(1, 4, 8, 8)
    ref['ddim.start'] = x.numpy()
    ref['ddim.timesteps'] = sched.timesteps.float().numpy()
    ref['ddim.alphas_cumprod'] = sched.alphas_cumprod.numpy()
    inverted, denoised = [], []
    with torch.no_grad():
        for i, t in enumerate(reversed(sched.timesteps)):
            if i >= actual:
                continue
            x = inv_step(sched, unet(x, t, encoder_hidden_states=ctx).sample, int(t), x)
            inverted.append(x[0])
        for i, t in enumerate(sched.timesteps):
            if i < steps - actual:
                continue
            x = sched.step(unet(x, t, encoder_hidden_states=ctx).sample, t, x).prev_sample
            denoised.append(x[0])
    ref['ddim.inverted'] = torch.stack(inverted).numpy()
    ref['ddim.denoised'] = torch.stack(denoised).numpy()
    os.makedirs(os.path.join(OUT, 'scheduler'), exist_ok=True)
    with open(os.path.join(OUT, 'scheduler', 'scheduler_config.json'), 'w') as f:
        json.dump({k: v for k, v in sched.config.items() if k != '_use_default_values'}, f, indent=2, sort_keys=True)


def feature_gradient(ref, unet, ctx, t=601):
    """The gradient DragDiffusion's motion supervision follows: a loss on the last up block's features
    (a fixed random weighting of them), back through the UNet to the latent."""
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    feats = {}
    hook = unet.up_blocks[-1].register_forward_hook(lambda m, i, o: feats.__setitem__('f', o))
    unet(x, torch.tensor([t]), encoder_hidden_states=ctx)
    hook.remove()
    weight = torch.randn_like(feats['f'])
    (feats['f'] * weight).sum().backward()
    ref['grad.latent'] = x.detach().numpy()
    ref['grad.timestep'] = np.array([t], np.float32)
    ref['grad.weight'] = weight.numpy()
    ref['grad.d_latent'] = x.grad.numpy()


def main():
    ref = {}
    tok, vocab_size = make_tokenizer()
    prompts = ['a photo of a cat', 'A  Portrait of an OLD man,   smiling!', "the dog's ball &amp; 42 red cars", '',
               "Café naïve ÉCOLE don't STOP!!! 2024", 'emoji 🐱‍👤 and 漢字 &#x263A; &lt;b&gt;', '\t tabs\nand\u00a0nbsp  ',
               'a <|endoftext|> inside', ' '.join(['photo'] * 100)]
    for i, p in enumerate(prompts):
        ref[f'tokens.{i}'] = np.array(tok(p), dtype=np.float32)
    with open(os.path.join(OUT, 'prompts.json'), 'w') as f:
        json.dump(prompts, f, indent=2)

    text_cfg = dict(architectures=['CLIPTextModel'], model_type='clip_text_model', vocab_size=vocab_size,
                    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                    max_position_embeddings=77, hidden_act='quick_gelu', layer_norm_eps=1e-5,
                    bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=1, projection_dim=32)
    text = CLIPTextModel(text_cfg).eval()
    perturb_norms(text)
    round_half(text)
    save_model(text, 'text_encoder', 'model.safetensors', text_cfg)
    ids = torch.tensor([tok(prompts[0]), tok(prompts[1])])
    with torch.no_grad():
        ctx = text(ids)
    ref['text.input_ids'] = ids.float().numpy()
    ref['text.last_hidden_state'] = ctx.numpy()

    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8).eval()
    perturb_norms(unet)
    round_half(unet)
    save_model(unet, 'unet', 'diffusion_pytorch_model.safetensors', dict(unet.config))
    sample = torch.randn(2, 4, 8, 8)
    t = torch.tensor([981, 21])
    feats = {}
    hooks = [blk.register_forward_hook(lambda m, i, o, k=k: feats.__setitem__(k, o)) for k, blk in enumerate(unet.up_blocks)]
    with torch.no_grad():
        eps = unet(sample, t, encoder_hidden_states=ctx).sample
    for h in hooks:
        h.remove()
    ref['unet.sample'] = sample.numpy()
    ref['unet.timesteps'] = t.float().numpy()
    ref['unet.encoder_hidden_states'] = ctx.numpy()
    ref['unet.out'] = eps.numpy()
    for k, v in feats.items():
        ref[f'unet.up{k}'] = v.numpy()

    ddim_reference(ref, unet, ctx[:1])
    feature_gradient(ref, unet, ctx[:1])

    vae = AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=(16, 32), layers_per_block=1,
                        down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2,
                        latent_channels=4, norm_num_groups=8, sample_size=16).eval()
    perturb_norms(vae)
    round_half(vae)
    save_model(vae, 'vae', 'diffusion_pytorch_model.safetensors', dict(vae.config))
    image = torch.rand(1, 3, 16, 16) * 2 - 1
    latent = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        ref['vae.image'] = image.numpy()
        ref['vae.mean'] = vae.encode(image).latent_dist.mean.numpy()
        ref['vae.latent'] = latent.numpy()
        ref['vae.decoded'] = vae.decode(latent).sample.numpy()

    safetensors_io.save(os.path.join(OUT, 'reference.safetensors'), {k: np.asarray(v, np.float32) for k, v in ref.items()},
                        {'diffusers': 'v0.21.4', 'torch': torch.__version__})
    for k, v in ref.items():
        print(f'{k:32s} {tuple(v.shape)}  max|x| {np.abs(v).max():.4g}')


if __name__ == '__main__':
    main()

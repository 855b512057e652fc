"""Writes the trained faces model as a diffusers folder (F16 safetensors) the engine loads, a sample grid, the
training history, and the engine test's reference sample.

Usage: /usr/bin/python3 training/diffusion/export.py --run training/runs/faces-diffusion --out DIR
       [--reference tests/fixtures/diffusion/faces-reference.safetensors] [--grid DIR/samples.png]
       [--recon DIR/reconstructions.png [--data /work/data/faces128-v2]]

DIR gets unet/ (the EMA weights), vae/, text_encoder/, tokenizer/, scheduler/ and training.json (steps, minutes
and losses per stage: what the model card quotes, and what train.py --resume-from-export reads back). The
sample grid is made here in PyTorch (50 DDIM steps from seeded noise, prompt 'a photo of a face'); the
reference holds a 10-step sample from one noise, computed on the F16-rounded weights the engine reads, so
tests/engine/diffusion-faces-model.test.ts can check that the engine reproduces it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import clip_text  # noqa: E402
import pngio  # noqa: E402
import safetensors_io  # noqa: E402
from model_config import SCHEDULER, TEXT_CONFIG, TOKENIZER_CORPUS, ddim_alphas_cumprod, make_models, text_model_config  # noqa: E402

REFERENCE_PROMPT = 'a photo of a face'


def round_half(model):
    """The engine reads F16: sample from the same rounded values."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def save_part(out, sub, fname, model, config):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
    sd = {k: v.detach().numpy().astype(np.float16) for k, v in model.state_dict().items()}
    safetensors_io.save(os.path.join(out, sub, fname), sd, {'format': 'pt'})
    with open(os.path.join(out, sub, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)


@torch.no_grad()
def ddim_sample(unet, vae, context, noise, steps, scaling_factor):
    """diffusers' DDIMScheduler (leading spacing, steps_offset 1, eta 0) from pure noise, then the VAE."""
    alphas = ddim_alphas_cumprod().double()
    ratio = 1000 // steps
    x = noise.clone()
    for t in reversed(range(0, steps * ratio, ratio)):
        t = t + SCHEDULER['steps_offset']
        eps = unet(x, torch.full((x.shape[0],), t), context.expand(x.shape[0], -1, -1)).double()
        a, a_prev = alphas[t], alphas[t - ratio] if t - ratio >= 0 else alphas[0]
        x0 = (x.double() - (1 - a).sqrt() * eps) / a.sqrt()
        x = (a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps).float()
    return x, vae.decode(x / scaling_factor)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--run', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--reference')
    p.add_argument('--grid')
    p.add_argument('--grid-count', type=int, default=16)
    # Held-out dataset faces (the last ones: the UNet trains on the first --latent-count) over their VAE
    # reconstructions: how much of a face the latent space keeps.
    p.add_argument('--recon')
    p.add_argument('--data', default='/work/data/faces128-v2')
    # A train_decoder.py run: its decoder replaces the run's, and its history joins the run's.
    p.add_argument('--decoder-run')
    args = p.parse_args()
    torch.set_num_threads(1)

    state = torch.load(os.path.join(args.run, 'checkpoint.pt'))
    if state['scaling_factor'] is None:
        raise SystemExit('the run has not reached the UNet stage: nothing to export')
    text, unet, vae = make_models()
    text.load_state_dict(state['text'])
    unet.load_state_dict(state['unet_ema'])
    vae.load_state_dict(state['vae'])
    history, seconds, exact_steps = list(state['history']), dict(state['seconds']), {'unet': state['step']}
    if args.decoder_run:
        decoder = torch.load(os.path.join(args.decoder_run, 'checkpoint.pt'))
        vae.load_state_dict(decoder['decoder'], strict=False)
        history += decoder['history']
        seconds['decoder'], exact_steps['decoder'] = decoder['seconds'], decoder['step']
    for m in (text, unet, vae):
        m.eval()
        round_half(m)
    vae.config['scaling_factor'] = state['scaling_factor']

    tok, vocab = clip_text.make_tokenizer(TOKENIZER_CORPUS, TEXT_CONFIG['merges'], os.path.join(args.out, 'tokenizer'))
    save_part(args.out, 'text_encoder', 'model.safetensors', text, text_model_config(vocab))
    save_part(args.out, 'unet', 'diffusion_pytorch_model.safetensors', unet, unet.config)
    save_part(args.out, 'vae', 'diffusion_pytorch_model.safetensors', vae, vae.config)
    os.makedirs(os.path.join(args.out, 'scheduler'), exist_ok=True)
    with open(os.path.join(args.out, 'scheduler', 'scheduler_config.json'), 'w') as f:
        json.dump(SCHEDULER, f, indent=2, sort_keys=True)
    stages = {}
    for stage in ('vae', 'decoder', 'unet'):
        if stage not in seconds:
            continue
        h = [e for e in history if e['stage'] == stage]
        steps = exact_steps.get(stage, h[-1]['step'] if h else 0)
        stages[stage] = dict(steps=steps, minutes=round(seconds[stage] / 60, 1),
                             loss_first=h[0]['loss'] if h else None, loss_last=h[-1]['loss'] if h else None)
    with open(os.path.join(args.out, 'training.json'), 'w') as f:
        json.dump(dict(stages=stages, scaling_factor=state['scaling_factor'], history=history), f, indent=1)
    print(json.dumps(stages))

    ids = torch.tensor([tok(REFERENCE_PROMPT)])
    with torch.no_grad():
        context = text(ids)
    if args.grid:
        gen = torch.Generator().manual_seed(1234)
        noise = torch.randn((args.grid_count, 4, 16, 16), generator=gen)
        _, images = ddim_sample(unet, vae, context, noise, 50, state['scaling_factor'])
        pngio.write_png(args.grid, pngio.grid([pngio.to_uint8(im) for im in images.numpy()], 8))
        print(f'wrote {args.grid}')
    if args.recon:
        from dataset import PackedImages
        images = PackedImages(args.data)
        x = torch.from_numpy(np.array(images.images[images.count - 8:])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        with torch.no_grad():
            rec = vae.decode(vae.encode(x)[0])
        print(f'VAE reconstruction L1 (held-out, [-1, 1]): {(rec - x).abs().mean().item():.4f}')
        pngio.write_png(args.recon, pngio.grid([pngio.to_uint8(im) for im in torch.cat([x, rec]).numpy()], 8))
        print(f'wrote {args.recon}')
    if args.reference:
        noise = torch.randn((1, 4, 16, 16), generator=torch.Generator().manual_seed(7))
        latent, image = ddim_sample(unet, vae, context, noise, 10, state['scaling_factor'])
        ref = {'prompt.ids': ids.float().numpy(), 'context': context.numpy(), 'noise': noise.numpy(),
               'latent': latent.numpy(), 'image': image.numpy()}
        safetensors_io.save(args.reference, {k: np.asarray(v, np.float32) for k, v in ref.items()},
                            {'prompt': REFERENCE_PROMPT, 'ddim_steps': '10', 'torch': torch.__version__})
        print(f'wrote {args.reference}')


if __name__ == '__main__':
    main()

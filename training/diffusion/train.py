"""Trains the bundled faces diffusion model: the VAE, then the latents' cache, then the UNet.

Usage: /usr/bin/python3 training/diffusion/train.py --data /work/data/faces128-v2 --run training/runs/faces-diffusion
       [--vae-minutes 33] [--unet-minutes 60] [--latent-count 4000] [--threads 1] (see --help)

Resumable: every --checkpoint-minutes (and on SIGTERM / SIGINT) the whole state is written atomically to
RUN/checkpoint.pt; a restart with the same --run continues from it (stage, step, models, EMA, Adam, data order,
history). Stage budgets are wall-clock minutes of training counted across sessions, so a resumed run finishes
the stage it was in. The text encoder is a frozen random CLIP (its weights fixed by --seed, saved in the
checkpoint): the model is unconditional in practice, trained on a few neutral prompts so that any of them (or
the empty prompt) gives the same faces.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clip_text  # noqa: E402
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import safetensors_io  # noqa: E402
from run_control import save_atomically, stop_on_signals  # noqa: E402
from dataset import PackedImages  # noqa: E402
from model_config import TEXT_CONFIG, TOKENIZER_CORPUS, TRAIN_PROMPTS, make_models, ddim_alphas_cumprod  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--run', required=True)
    p.add_argument('--vae-minutes', type=float, default=33)
    p.add_argument('--unet-minutes', type=float, default=60)
    # Continue from an exported folder (export.py's F16 weights + training.json) when RUN has no checkpoint:
    # the committed model is the slim checkpoint; Adam's moments and the latents' cache start afresh.
    p.add_argument('--resume-from-export')
    p.add_argument('--checkpoint-minutes', type=float, default=10)
    p.add_argument('--vae-batch', type=int, default=4)
    # Crops below the full size are cheaper, but GroupNorm statistics and the mid-block attention then differ
    # from full images': 64 px crops reconstructed full faces with washed-out colours.
    p.add_argument('--vae-crop', type=int, default=128)
    p.add_argument('--vae-lr', type=float, default=4e-4)
    p.add_argument('--kl-weight', type=float, default=1e-6)
    # Encoding costs ~90 ms an image on one thread: the UNet trains on the first N images' latents.
    p.add_argument('--latent-count', type=int, default=4000)
    p.add_argument('--unet-batch', type=int, default=32)
    p.add_argument('--unet-lr', type=float, default=3e-4)
    p.add_argument('--ema', type=float, default=0.999)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


class Run:
    """Everything a checkpoint holds."""

    def __init__(self, args):
        torch.manual_seed(args.seed)
        self.text, self.unet, self.vae = make_models()
        self.text.requires_grad_(False)
        self.unet_ema = make_models()[1]
        self.unet_ema.load_state_dict(self.unet.state_dict())
        self.unet_ema.requires_grad_(False)
        self.vae_opt = torch.optim.Adam(self.vae.parameters(), lr=args.vae_lr)
        self.unet_opt = torch.optim.Adam(self.unet.parameters(), lr=args.unet_lr)
        self.stage, self.step, self.seconds = 'vae', 0, {'vae': 0.0, 'unet': 0.0}
        self.scaling_factor = None
        self.history = []  # {stage, step, seconds, loss}
        self.data_state = None
        self.rng = torch.Generator().manual_seed(args.seed + 1)

    def state_dict(self, data):
        return dict(text=self.text.state_dict(), unet=self.unet.state_dict(), unet_ema=self.unet_ema.state_dict(),
                    vae=self.vae.state_dict(), vae_opt=self.vae_opt.state_dict() if self.vae_opt else None, unet_opt=self.unet_opt.state_dict(),
                    stage=self.stage, step=self.step, seconds=self.seconds, scaling_factor=self.scaling_factor,
                    history=self.history, data=data.state_dict() if data else self.data_state, rng=self.rng.get_state())

    def load_export(self, folder):
        def weights(sub, fname):
            tensors, _ = safetensors_io.load(os.path.join(folder, sub, fname))
            return {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}

        self.text.load_state_dict(weights('text_encoder', 'model.safetensors'))
        self.unet.load_state_dict(weights('unet', 'diffusion_pytorch_model.safetensors'))
        self.unet_ema.load_state_dict(self.unet.state_dict())
        self.vae.load_state_dict(weights('vae', 'diffusion_pytorch_model.safetensors'))
        with open(os.path.join(folder, 'training.json')) as f:
            t = json.load(f)
        self.vae_opt, self.stage, self.scaling_factor, self.history = None, 'unet', t['scaling_factor'], t['history']
        self.step = t['stages']['unet']['steps']
        self.seconds = {k: v['minutes'] * 60 for k, v in t['stages'].items()}

    def load_state_dict(self, s):
        self.text.load_state_dict(s['text'])
        self.unet.load_state_dict(s['unet'])
        self.unet_ema.load_state_dict(s['unet_ema'])
        self.vae.load_state_dict(s['vae'])
        if s.get('vae_opt'):
            self.vae_opt.load_state_dict(s['vae_opt'])
        else:
            self.vae_opt = None
        if s.get('unet_opt'):
            self.unet_opt.load_state_dict(s['unet_opt'])
        self.stage, self.step, self.seconds = s['stage'], s['step'], s['seconds']
        self.scaling_factor, self.history, self.data_state = s['scaling_factor'], s['history'], s['data']
        if s.get('rng') is not None:
            self.rng.set_state(s['rng'])


def save_checkpoint(run, data, path):
    save_atomically(run.state_dict(data), path)
    print(f'checkpoint {path}: stage {run.stage} step {run.step} ({run.seconds["vae"] / 60:.1f} + {run.seconds["unet"] / 60:.1f} min)', flush=True)


def vae_loss(vae, x, kl_weight, rng):
    mean, logvar = vae.encode(x)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=rng)
    rec = vae.decode(z)
    l1, l2 = (rec - x).abs().mean(), ((rec - x) ** 2).mean()
    kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
    return l1 + l2 + kl_weight * kl, l1


def random_crop(x, crop, rng):
    """Crops on the latent grid (multiples of 8), so the encoder's stride pattern stays the one it sees at full size."""
    s = x.shape[-1]
    if crop >= s:
        return x
    i, j = (int(v) * 8 for v in torch.randint(0, (s - crop) // 8 + 1, (2,), generator=rng))
    return x[:, :, i:i + crop, j:j + crop]


@torch.no_grad()
def encode_all(vae, images, count, path, batch=64):
    """The first `count` images' latent means (unscaled, F16) to path: the UNet stage reads latents, never images."""
    count = min(count, images.count)
    vae.eval()
    out = np.lib.format.open_memmap(path + '.tmp.npy', mode='w+', dtype=np.float16, shape=(count, 4, images.size // 8, images.size // 8))
    t0 = time.time()
    for i in range(0, count, batch):
        x = torch.from_numpy(np.array(images.images[i:min(i + batch, count)])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        out[i:i + len(x)] = vae.encode(x)[0].numpy().astype(np.float16)
        if i % (batch * 50) == 0:
            print(f'encoded {i}/{count} ({time.time() - t0:.0f} s)', flush=True)
    out.flush()
    del out
    os.replace(path + '.tmp.npy', path)
    vae.train()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    ckpt = os.path.join(args.run, 'checkpoint.pt')
    with open(os.path.join(args.run, 'args.json'), 'w') as f:
        json.dump(vars(args), f, indent=2)
    run = Run(args)
    if os.path.exists(ckpt):
        run.load_state_dict(torch.load(ckpt))
        print(f'resumed {ckpt}: stage {run.stage} step {run.step}', flush=True)
    elif args.resume_from_export:
        run.load_export(args.resume_from_export)
        print(f'resumed from the export {args.resume_from_export}: stage unet step {run.step}', flush=True)

    stop = stop_on_signals()

    tok, _ = clip_text.make_tokenizer(TOKENIZER_CORPUS, TEXT_CONFIG['merges'])
    with torch.no_grad():
        contexts = run.text(torch.tensor([tok(p) for p in TRAIN_PROMPTS]))
    data = None
    last_ckpt = time.time()
    losses = []

    def log(loss):
        losses.append(loss)
        if run.step % 50 == 0:
            entry = dict(stage=run.stage, step=run.step, seconds=round(run.seconds[run.stage], 1), loss=float(np.mean(losses)))
            run.history.append(entry)
            losses.clear()
            print(json.dumps(entry), flush=True)

    if run.stage == 'vae':
        data = PackedImages(args.data, seed=args.seed)
        if run.data_state:
            data.load_state_dict(run.data_state)
        while run.seconds['vae'] < args.vae_minutes * 60 and not stop['now']:
            t0 = time.time()
            x = random_crop(data.next_batch(args.vae_batch, mirror=True), args.vae_crop, run.rng)
            loss, l1 = vae_loss(run.vae, x, args.kl_weight, run.rng)
            run.vae_opt.zero_grad(set_to_none=True)
            loss.backward()
            run.vae_opt.step()
            run.step += 1
            run.seconds['vae'] += time.time() - t0
            log(float(l1))
            if time.time() - last_ckpt > args.checkpoint_minutes * 60:
                save_checkpoint(run, data, ckpt)
                last_ckpt = time.time()
        if stop['now']:
            save_checkpoint(run, data, ckpt)
            return
        if losses:  # the stage's last steps, so the history ends at its true step count
            run.history.append(dict(stage='vae', step=run.step, seconds=round(run.seconds['vae'], 1), loss=float(np.mean(losses))))
            losses.clear()
        run.stage, run.step, run.data_state, data = 'unet', 0, None, None
        run.vae_opt = None  # the VAE is done: its Adam state is not kept
        save_checkpoint(run, None, ckpt)

    latents_path = os.path.join(args.run, 'latents.npy')
    if not os.path.exists(latents_path):
        encode_all(run.vae, PackedImages(args.data, seed=args.seed), args.latent_count, latents_path)
    latents = np.load(latents_path, mmap_mode='r')
    if run.scaling_factor is None:
        # SD's recipe: 1 / std of the latents, so the UNet sees unit-variance inputs.
        run.scaling_factor = float(1.0 / np.asarray(latents[:4096], np.float32).std())
        print(f'scaling factor {run.scaling_factor:.5f}', flush=True)
    alphas = ddim_alphas_cumprod()
    n = latents.shape[0]
    while run.seconds['unet'] < args.unet_minutes * 60 and not stop['now']:
        t0 = time.time()
        idx = torch.randint(0, n, (args.unet_batch,), generator=run.rng).sort().values.numpy()
        z0 = torch.from_numpy(np.asarray(latents[idx], np.float32)) * run.scaling_factor
        t = torch.randint(0, 1000, (args.unet_batch,), generator=run.rng)
        noise = torch.randn(z0.shape, generator=run.rng)
        a = alphas[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * noise
        ctx = contexts[torch.randint(0, len(TRAIN_PROMPTS), (args.unet_batch,), generator=run.rng)]
        loss = F.mse_loss(run.unet(zt, t, ctx), noise)
        run.unet_opt.zero_grad(set_to_none=True)
        loss.backward()
        warm = min(1.0, (run.step + 1) / 500)
        for g in run.unet_opt.param_groups:
            g['lr'] = args.unet_lr * warm
        run.unet_opt.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + run.step) / (10 + run.step))
            for pe, p in zip(run.unet_ema.parameters(), run.unet.parameters()):
                pe.mul_(decay).add_(p, alpha=1 - decay)
        run.step += 1
        run.seconds['unet'] += time.time() - t0
        log(float(loss))
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            save_checkpoint(run, None, ckpt)
            last_ckpt = time.time()
    save_checkpoint(run, None, ckpt)
    if not stop['now']:
        print('done', flush=True)


if __name__ == '__main__':
    main()

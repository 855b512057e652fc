"""Fine-tunes the VAE's decoder of an exported faces model, with the encoder frozen.

Usage: /usr/bin/python3 training/diffusion/train_decoder.py --data /work/data/faces128-v2 --run RUN
       --from-export models/faces-diffusion --minutes 60 [--threads 1]

Why the decoder alone: the UNet is trained on the encoder's latents, so retraining the whole VAE would move
the latent space under it and its training would start over. With the encoder fixed, the latents stay the
ones the UNet learns, and this can run beside train.py's UNet stage on another core; export.py --decoder-run
RUN puts the result into the exported folder.

Resumable like train.py: every --checkpoint-minutes and on SIGTERM / SIGINT the decoder, its Adam, the data
order, the RNG and the history go atomically to RUN/checkpoint.pt; the same command continues from it.
--minutes is the total across sessions, counting what the export's training.json already records.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import safetensors_io  # noqa: E402
from run_control import save_atomically, stop_on_signals  # noqa: E402
from dataset import PackedImages  # noqa: E402
from model_config import make_models  # noqa: E402

STAGE = 'decoder'


# What this stage trains: everything after the latent (diffusers' decode path), named once for both the
# optimiser's parameters and the checkpoint's state.
DECODE_PATH = ('post_quant_conv', 'decoder')


def decoder_parameters(vae):
    return [p for name in DECODE_PATH for p in getattr(vae, name).parameters()]


def decoder_state(vae):
    return {k: v for k, v in vae.state_dict().items() if k.split('.', 1)[0] in DECODE_PATH}


def load_export_vae(folder):
    _, _, vae = make_models()
    tensors, _ = safetensors_io.load(os.path.join(folder, 'vae', 'diffusion_pytorch_model.safetensors'))
    vae.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    with open(os.path.join(folder, 'training.json')) as f:
        training = json.load(f)
    return vae, training


def save_checkpoint(state, path):
    save_atomically(state, path)
    print(f'checkpoint {path}: step {state["step"]} ({state["seconds"] / 60:.1f} min)', flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--run', required=True)
    p.add_argument('--from-export', required=True)
    p.add_argument('--minutes', type=float, default=60)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--lr', type=float, default=2e-4)
    p.add_argument('--checkpoint-minutes', type=float, default=10)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--seed', type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    ckpt = os.path.join(args.run, 'checkpoint.pt')

    vae, training = load_export_vae(args.from_export)
    vae.encoder.requires_grad_(False)
    vae.quant_conv.requires_grad_(False)
    opt = torch.optim.Adam(decoder_parameters(vae), lr=args.lr)
    data = PackedImages(args.data, seed=args.seed)
    rng = torch.Generator().manual_seed(args.seed)
    done = training['stages'].get(STAGE, {})
    state = dict(step=done.get('steps', 0), seconds=done.get('minutes', 0) * 60, history=[])
    if os.path.exists(ckpt):
        saved = torch.load(ckpt)
        vae.load_state_dict(saved['decoder'], strict=False)
        opt.load_state_dict(saved['opt'])
        data.load_state_dict(saved['data'])
        rng.set_state(saved['rng'])
        state = dict(step=saved['step'], seconds=saved['seconds'], history=saved['history'])
        print(f'resumed {ckpt}: step {state["step"]}', flush=True)

    def snapshot():
        return dict(decoder=decoder_state(vae), opt=opt.state_dict(), data=data.state_dict(), rng=rng.get_state(),
                    from_export=os.path.abspath(args.from_export), **state)

    stop = stop_on_signals()

    # The pack's last faces (outside the UNet's latents, as export.py --recon shows them) track progress; the
    # decoder's own batches include them, rarely (each once or twice an hour), so this is reconstruction, not generalisation.
    last16 = torch.from_numpy(np.array(data.images[data.count - 16:])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        last16_latent = vae.encode(last16)[0]
    last_ckpt, losses = time.time(), []
    vae.decoder.train()
    while state['seconds'] < args.minutes * 60 and not stop['now']:
        t0 = time.time()
        x = data.next_batch(args.batch, mirror=True)
        with torch.no_grad():
            mean, logvar = vae.encode(x)
            # A sampled latent, as the VAE was trained: the decoder also meets the UNet's slightly-off latents.
            z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=rng)
        rec = vae.decode(z)
        l1 = (rec - x).abs().mean()
        loss = l1 + ((rec - x) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state['step'] += 1
        state['seconds'] += time.time() - t0
        losses.append(float(l1))
        if state['step'] % 50 == 0:
            with torch.no_grad():
                last16_l1 = float((vae.decode(last16_latent) - last16).abs().mean())
            entry = dict(stage=STAGE, step=state['step'], seconds=round(state['seconds'], 1), loss=float(np.mean(losses)),
                         last16_l1=round(last16_l1, 5))
            state['history'].append(entry)
            losses.clear()
            print(json.dumps(entry), flush=True)
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            save_checkpoint(snapshot(), ckpt)
            last_ckpt = time.time()
    save_checkpoint(snapshot(), ckpt)
    if not stop['now']:
        print('done', flush=True)


if __name__ == '__main__':
    main()

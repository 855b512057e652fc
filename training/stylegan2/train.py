"""Train the StyleGAN2-ADA generator/discriminator on a packed image set (see dataset.py).

Follows stylegan2-ada-pytorch's training loop and StyleGAN2Loss: non-saturating logistic loss, lazy R1 on D,
style mixing, G EMA with rampup, lazy path-length regularisation on G (path_length.py), Adam (0, 0.99) with
lazy-regularisation correction. No ADA augmentation (see README.md). Resumes automatically from the run dir.
--init-from-model fine-tunes the shipped generator (see README.md, fine-tuning).

    /usr/bin/python3 training/stylegan2/train.py --data /work/data/faces128 --out training/runs/faces128
"""
import argparse
import copy
import glob
import json
import math
import os
import signal
import sys
import time

# Must precede the torch import. Busy-waiting OpenMP workers collapse throughput ~10x whenever another process
# holds one of the cores (seen on the shared 2-core box); passive waiting costs little when the cores are free.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import model_file  # noqa: E402
import networks  # noqa: E402
import path_length  # noqa: E402
import pngio  # noqa: E402
import slim_ckpt  # noqa: E402
from dataset import PackedImages  # noqa: E402
from networks import Discriminator, Generator  # noqa: E402

R1_INTERVAL = 16
GRID_SEEDS = list(range(8))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='dir with images.u8 + meta.json')
    ap.add_argument('--out', required=True, help='run dir (checkpoints, samples); resumed if it has checkpoints')
    ap.add_argument('--config', help='model config JSON (default: faces128 from docs/model-format.md)')
    ap.add_argument('--kimg', type=float, default=3000, help='train until this many thousand real images shown')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--gamma', type=float, help='R1 weight (default ADA auto: 0.0002 * res^2 / batch)')
    ap.add_argument('--lr', type=float, default=0.0025)
    ap.add_argument('--style-mixing', type=float, default=0.9, help='style mixing probability (0 = off)')
    ap.add_argument('--ema-kimg', type=float, help='G EMA half-life in kimg (default batch * 10 / 32)')
    ap.add_argument('--ema-rampup', type=float, default=0.05)
    ap.add_argument('--mirror', action='store_true', help='random x-flips of real images (off: keep faces as packed)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--bf16', action='store_true', help='bfloat16 autocast for convolutions on CPU (~1.35x faster; R1 stays float32)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--snap-minutes', type=float, default=10, help='checkpoint + sample grid interval')
    ap.add_argument('--log-seconds', type=float, default=60, help='progress line interval')
    ap.add_argument('--keep', type=int, default=2, help='checkpoints kept in the run dir')
    ap.add_argument('--max-minutes', type=float, help='stop (with a checkpoint) after this long')
    ap.add_argument('--init-from', help='start a new run from a slim checkpoint dir (slim_ckpt.py); run dir must be empty')
    ap.add_argument('--init-from-model', help='start a new run from an engine model file (G and G_ema from its '
                    'weights, D fresh); run dir must be empty')
    ap.add_argument('--d-warmup-kimg', type=float, default=0,
                    help='a new run (fresh or --init-from-model) trains only D for its first this many kimg (a fresh D '
                    'must learn the current G before its gradients may move G); fixed at the run\'s start and kept '
                    'in its checkpoints, so a resumed run ignores this flag')
    ap.add_argument('--pl-weight', type=float, default=2,
                    help='path-length regularisation weight (ADA default 2; 0 = off)')
    ap.add_argument('--moment-warmup', type=int, default=100,
                    help='with --init-from: iterations at lr 0 that re-estimate Adam second moments first')
    return ap.parse_args()


def save_checkpoint(out, state, keep):
    path = os.path.join(out, f'ckpt-{state["nimg"]:09d}.pt')
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic: a kill mid-write never leaves a truncated checkpoint under the real name
    for old in sorted(glob.glob(os.path.join(out, 'ckpt-*.pt')))[:-keep]:
        os.remove(old)
    return path


def nan_to_num_grads(module):
    # As ADA: one bad batch must not poison the Adam moments.
    for p in module.parameters():
        if p.grad is not None:
            torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)


def set_lr(opts_lrs, scale):
    for opt, lr in opts_lrs:
        for g in opt.param_groups:
            g['lr'] = lr * scale


def cpu_has_native_bf16():
    """True when the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Without it, PyTorch emulates bf16
    convolutions: measured on a 2-core EPYC with AVX2 only, one iteration took 8.7 s instead of ~2.5 s."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def mixed_precision(args):
    """--bf16: bfloat16 autocast for the synthesis network's and D's convolutions on CPU (weights, Adam state,
    the mapping network, losses and R1 stay float32; conv_clamp bounds activations as in ADA's fp16 layers).
    Measured on the 2-core EPYC (AVX512-BF16), one G step at batch 16: 1.35 s fp32 -> 0.99 s bf16."""
    return torch.autocast('cpu', dtype=torch.bfloat16, enabled=bool(args.bf16) and args.device == 'cpu')


def run_G(G, z, style_mixing, args, return_ws=False):
    """ADA StyleGAN2Loss.run_G: with probability style_mixing, ws after a random cutoff come from another z.
    return_ws: -> (img, ws) in float32 (the path-length penalty differentiates through it twice, like R1)."""
    ws = G.mapping(z)
    if style_mixing > 0 and torch.rand([]).item() < style_mixing:
        cutoff = int(torch.randint(1, ws.shape[1], []).item())
        ws[:, cutoff:] = G.mapping(torch.randn_like(z), update_w_avg=False)[:, cutoff:]
    if return_ws:
        return G.synthesis(ws, noise_mode='random'), ws
    with mixed_precision(args):
        return G.synthesis(ws, noise_mode='random')


def write_grid(G_ema, cfg, path, device):
    """Fixed seeds (seed convention), const noise; row 1 psi 1, row 2 the config's truncation psi."""
    z = torch.cat([model_file.seed_z(s, cfg['z_dim']) for s in GRID_SEEDS]).to(device)
    tiles = []
    with torch.no_grad():
        for psi in (1.0, cfg.get('truncation_psi', 0.7)):
            img = G_ema(z, psi=psi, noise_mode='const').cpu().numpy()
            tiles += [pngio.to_uint8(im) for im in img]
    pngio.write_png(path, pngio.grid(tiles, len(GRID_SEEDS)))


def fmt_time(s):
    s = int(s)
    return f'{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s'


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.set_flush_denormal(True)  # denormals in tiny gradients can stall x86 FP units
    device = torch.device(args.device)
    if args.bf16 and device.type == 'cpu' and not cpu_has_native_bf16():
        print('--bf16 ignored: this CPU has no native bfloat16 (avx512_bf16/amx_bf16), so autocast would be '
              'several times slower than float32', flush=True)
        args.bf16 = False
    networks.set_fast_resample(True)  # identical math, ~3x faster on CPU (checked by test_networks.py)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick each convolution's fastest kernel
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    os.makedirs(args.out, exist_ok=True)

    stop = {'flag': False}

    def on_signal(signum, _frame):
        print(f'signal {signum}: checkpointing after this iteration', flush=True)
        stop['flag'] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ckpt_path = slim_ckpt.latest_checkpoint(args.out)
    if args.init_from and args.init_from_model:
        sys.exit('--init-from and --init-from-model exclude each other')
    if ckpt_path and (args.init_from or args.init_from_model):
        sys.exit(f'{args.out} already has checkpoints; --init-from / --init-from-model only start a new run')
    init_G = None
    if ckpt_path:
        ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)  # our own file: holds numpy RNG state
    elif args.init_from:
        ckpt_path = args.init_from
        ckpt = slim_ckpt.load(args.init_from)
    elif args.init_from_model:
        ckpt = None
        init_G, cfg = model_file.load_generator(args.init_from_model)  # F16 weights widened to float32
        base_training = cfg.pop('training', None) or {}  # export.py writes this run's record afresh
        cfg.pop('description', None)
    else:
        ckpt = None
    if ckpt:
        cfg = ckpt['cfg']  # the run's model is fixed at its start; CLI/config changes to it are ignored
    elif init_G is not None:
        pass  # the model file's config
    elif args.config:
        with open(args.config) as f:
            cfg = json.load(f)
    else:
        cfg = dict(model_file.FACES128)
    res = cfg['img_resolution']
    gamma = args.gamma if args.gamma is not None else 0.0002 * res * res / args.batch
    ema_kimg = args.ema_kimg if args.ema_kimg is not None else args.batch * 10 / 32

    torch.manual_seed(args.seed)
    G = Generator(cfg).to(device).train()
    D = Discriminator(cfg, mbstd_group_size=min(4, args.batch)).to(device).train()
    G_ema = copy.deepcopy(G).eval()
    # Lazy PL: G takes 1 + 1/PL_INTERVAL steps per PL iteration; the same lr/beta correction as D's below.
    mbG = path_length.PL_INTERVAL / (path_length.PL_INTERVAL + 1) if args.pl_weight > 0 else 1.0
    optG = torch.optim.Adam(G.parameters(), lr=args.lr * mbG, betas=(0.0 ** mbG, 0.99 ** mbG), eps=1e-8)
    # Lazy R1: D takes 1 + 1/R1_INTERVAL steps per iteration, so scale lr and betas to keep the same dynamics.
    mb = R1_INTERVAL / (R1_INTERVAL + 1)
    optD = torch.optim.Adam(D.parameters(), lr=args.lr * mb, betas=(0.0 ** mb, 0.99 ** mb), eps=1e-8)
    data = PackedImages(args.data, seed=args.seed)
    assert data.size == res, f'dataset is {data.size}px, model {res}px'

    nimg, it, wall_before, history, warmup = 0, 0, 0.0, [], 0
    pl_mean = torch.zeros([], device=device)
    pl_mean_unset = True  # until a measurement (D warm-up) or a checkpoint sets it
    if init_G is not None:
        G.load_state_dict(init_G.state_dict())
        G_ema.load_state_dict(init_G.state_dict())
        del init_G
        # The fine-tuned model's kimg and history continue the shipped model's, so the card counts every image
        # its weights have seen (D's count restarts, but G is what ships).
        nimg = int(round((base_training.get('kimg') or 0) * 1000))
        wall_before = (base_training.get('wall_hours') or 0) * 3600
        history = list(base_training.get('history') or [])
    if ckpt:
        G.load_state_dict(ckpt['G'])
        D.load_state_dict(ckpt['D'])
        G_ema.load_state_dict(ckpt['G_ema'])
        if 'optG' in ckpt:
            optG.load_state_dict(ckpt['optG'])
            optD.load_state_dict(ckpt['optD'])
            # Adam's saved param groups carry lr/betas: the ones this run's --pl-weight implies win.
            for g in optG.param_groups:
                g['lr'], g['betas'] = args.lr * mbG, (0.0 ** mbG, 0.99 ** mbG)
            data.load_state_dict(ckpt['data'])
            torch.set_rng_state(ckpt['torch_rng'])
            if device.type == 'cuda' and ckpt.get('cuda_rng') is not None:
                torch.cuda.set_rng_state_all(ckpt['cuda_rng'])
        else:  # slim: no optimiser state, so Adam's second moments are re-measured before any update
            warmup = args.moment_warmup
        nimg, it, wall_before = ckpt['nimg'], ckpt['it'], ckpt['wall_s']
        # Runs from before PL start its EMA at 0, as the official code does for any new run.
        pl_mean = torch.tensor(float(ckpt.get('pl_mean') or 0.0), device=device)
        pl_mean_unset = not ckpt.get('pl_mean')
        d_warmup_until = int(ckpt.get('d_warmup_until') or 0)
        if args.d_warmup_kimg:
            print('--d-warmup-kimg ignored: a resumed run keeps the D warm-up its start fixed', flush=True)
        # Runs from before history was kept count as one CPU segment.
        history = ckpt.get('history') or [{'device': ckpt.get('device', 'cpu'), 'kimg_from': 0,
                                           'kimg_to': round(nimg / 1000, 3), 'wall_s': round(wall_before)}]
        print(f'resumed {ckpt_path}: kimg {nimg / 1000:.2f}, trained {fmt_time(wall_before)}', flush=True)
        del ckpt
    else:
        d_warmup_until = nimg + int(args.d_warmup_kimg * 1000)
        reals = data.next_batch(min(len(GRID_SEEDS), data.count))
        pngio.write_png(os.path.join(args.out, 'reals.png'), pngio.grid([pngio.to_uint8(x) for x in reals], 8))
        data.pos = 0  # don't skip those images in the first epoch
        write_grid(G_ema, cfg, os.path.join(args.out, 'samples-init.png'), device)

    print(f'config {json.dumps(cfg)}', flush=True)
    print(f'data {data.count} x {data.size}px | batch {args.batch} | gamma {gamma:.4g} | ema {ema_kimg:.3g} kimg | '
          f'mixing {args.style_mixing} | mirror {args.mirror} | device {device} x{args.threads} threads | '
          f'G {sum(p.numel() for p in G.parameters()) / 1e6:.2f}M D {sum(p.numel() for p in D.parameters()) / 1e6:.2f}M params',
          flush=True)
    nimg_start = nimg

    def segment():
        """This process's part of the run, for the model card's training record."""
        seg = {'device': device.type, 'batch': args.batch, 'kimg_from': round(nimg_start / 1000, 3),
               'kimg_to': round(nimg / 1000, 3), 'wall_s': round(time.time() - t_start),
               'pl_weight': args.pl_weight, 'data_version': data.version}
        if args.init_from_model:
            seg['init_from_model'] = args.init_from_model
        if d_warmup_until > nimg_start:
            seg['d_warmup_until_kimg'] = round(d_warmup_until / 1000, 3)
        if device.type == 'cuda':
            seg['gpu'] = torch.cuda.get_device_name(device)
        return seg

    def snapshot():
        state = {'cfg': cfg, 'G': G.state_dict(), 'D': D.state_dict(), 'G_ema': G_ema.state_dict(),
                 'optG': optG.state_dict(), 'optD': optD.state_dict(), 'data': data.state_dict(),
                 'torch_rng': torch.get_rng_state(),
                 'cuda_rng': torch.cuda.get_rng_state_all() if device.type == 'cuda' else None,
                 'nimg': nimg, 'it': it, 'pl_mean': float(pl_mean), 'd_warmup_until': d_warmup_until, 'wall_s': wall_before + time.time() - t_start,
                 # A process stopped before G or D moved (e.g. in the moment warm-up) adds no segment.
                 'history': history + ([segment()] if nimg > nimg_start else []),
                 'args': vars(args), 'gamma': gamma, 'device': str(device), 'date': time.strftime('%Y-%m-%dT%H:%M:%S%z')}
        path = save_checkpoint(args.out, state, args.keep)
        write_grid(G_ema, cfg, os.path.join(args.out, f'samples-{nimg // 1000:06d}kimg.png'), device)
        print(f'checkpoint {path}', flush=True)

    total = int(args.kimg * 1000)

    def train_step(r1_now, pl_now, train_G=True):
        """One iteration of Gmain, (every PL_INTERVAL) Gpl, Dmain and (every R1_INTERVAL) Dreg.
        train_G False (D warm-up): D's phases only. -> (loss_G, loss_D, mean R1 penalty or None, mean PL
        penalty or None)."""
        nonlocal pl_mean, pl_mean_unset
        real = data.next_batch(args.batch, args.mirror).to(device, non_blocking=True)

        # Gmain: make D call fakes real. D's weights need no gradients here.
        loss_G, pl = torch.full([], math.nan), None
        if train_G:
            D.requires_grad_(False)
            fake = run_G(G, torch.randn(args.batch, cfg['z_dim'], device=device), args.style_mixing, args)
            with mixed_precision(args):
                logits = D(fake)
            loss_G = F.softplus(-logits.float()).mean()
            optG.zero_grad(set_to_none=True)
            loss_G.backward()
            nan_to_num_grads(G)
            optG.step()
            D.requires_grad_(True)

        # Gpl: lazy path-length penalty on its own half batch, scaled by the interval (ADA's gain). During the D
        # warm-up it only measures: the target a starts at the inherited G's first measured path length (then
        # follows the EMA) instead of 0, so the first G steps are not pulled towards shorter paths than it has.
        if pl_now:
            n = max(1, args.batch // path_length.PL_BATCH_SHRINK)
            img, ws = run_G(G, torch.randn(n, cfg['z_dim'], device=device), args.style_mixing, args, return_ws=True)
            penalty, lengths, pl_mean = path_length.path_length_penalty(img, ws, pl_mean)
            if not train_G and pl_mean_unset:
                pl_mean, pl_mean_unset = lengths.mean().detach(), False
            if train_G:
                optG.zero_grad(set_to_none=True)
                (img[:, 0, 0, 0] * 0 + penalty * args.pl_weight).mean().mul(path_length.PL_INTERVAL).backward()
                nan_to_num_grads(G)
                optG.step()
            pl = penalty.mean().item()
            del img, ws, penalty, lengths

        # Dmain: fakes down, reals up. (G under no_grad still updates w_avg, as in ADA.)
        with torch.no_grad():
            fake = run_G(G, torch.randn(args.batch, cfg['z_dim'], device=device), args.style_mixing, args)
        with mixed_precision(args):
            logits_fake, logits_real = D(fake), D(real)
        loss_D = F.softplus(logits_fake.float()).mean() + F.softplus(-logits_real.float()).mean()
        optD.zero_grad(set_to_none=True)
        loss_D.backward()
        nan_to_num_grads(D)
        optD.step()

        # Dreg: lazy R1, scaled by the interval so its average strength equals gamma / 2 every step.
        r1 = None
        if r1_now:
            real_ = real.detach().requires_grad_(True)
            logits = D(real_)
            (grad,) = torch.autograd.grad(logits.sum(), real_, create_graph=True)
            penalty = grad.square().sum(dim=[1, 2, 3])
            optD.zero_grad(set_to_none=True)
            (logits * 0 + (penalty * (gamma / 2))[:, None]).mean().mul(R1_INTERVAL).backward()
            nan_to_num_grads(D)
            optD.step()
            r1 = penalty.mean().item()
        return loss_G, loss_D, r1, pl

    if warmup:
        # Adam with beta2 0.99 and lr 0 only accumulates squared gradients (and its bias correction counts them),
        # so after ~100 steps its second moments measure this model again; G, D and G_ema do not move.
        t0 = time.time()
        lrs = [(optG, args.lr * mbG), (optD, args.lr * mb)]
        set_lr(lrs, 0.0)
        done = 0
        for i in range(warmup):
            if stop['flag']:  # the checkpoint below is still valid: nothing has moved, Adam counts its steps
                break
            train_step(i % R1_INTERVAL == 0, False)
            done += 1
        set_lr(lrs, 1.0)
        print(f'moment warm-up: {done} of {warmup} iterations at lr 0 in {time.time() - t0:.1f} s', flush=True)

    t_start = t_log = t_snap = time.time()
    nimg_log = nimg
    stats = {'G': [], 'D': [], 'r1': [], 'pl': []}
    while nimg < total and not stop['flag']:
        train_G = nimg >= d_warmup_until
        loss_G, loss_D, r1, pl = train_step(it % R1_INTERVAL == 0, args.pl_weight > 0 and it % path_length.PL_INTERVAL == 0,
                                            train_G)
        if r1 is not None:
            stats['r1'].append(r1)
        if pl is not None:
            stats['pl'].append(pl)

        # G EMA with ADA's rampup: the half-life grows with training so early samples aren't frozen in the past.
        ema_nimg = min(ema_kimg * 1000, nimg * args.ema_rampup) if args.ema_rampup else ema_kimg * 1000
        beta = 0.5 ** (args.batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)

        nimg += args.batch
        it += 1
        if train_G:
            stats['G'].append(loss_G.item())
        stats['D'].append(loss_D.item())

        now = time.time()
        if now - t_log >= args.log_seconds or nimg >= total:
            rate = (nimg - nimg_log) / (now - t_log)
            eta = (total - nimg) / max(rate, 1e-9)
            r1_text = f'{np.mean(stats["r1"]):.4f}' if stats['r1'] else '-'
            pl_text = f'{np.mean(stats["pl"]):.4f} (a {float(pl_mean):.3f})' if stats['pl'] else '-'
            g_text = f'{np.mean(stats["G"]):.4f}' if stats['G'] else 'off (D warm-up)'
            print(f'kimg {nimg / 1000:8.3f} | it {it} | {rate:6.2f} img/s | G {g_text} '
                  f'D {np.mean(stats["D"]):.4f} R1 {r1_text} PL {pl_text} | elapsed {fmt_time(wall_before + now - t_start)} '
                  f'| ETA {fmt_time(eta)} to {args.kimg:g} kimg', flush=True)
            t_log, nimg_log = now, nimg
            stats = {k: [] for k in stats}
        if now - t_snap >= args.snap_minutes * 60:
            snapshot()
            t_snap = time.time()
        if args.max_minutes and now - t_start >= args.max_minutes * 60:
            break
        if (train_G and not math.isfinite(loss_G.item())) or not math.isfinite(loss_D.item()):
            print('non-finite loss; stopping without a checkpoint', flush=True)
            sys.exit(1)

    snapshot()
    print('done' if nimg >= total else 'stopped', flush=True)


if __name__ == '__main__':
    main()

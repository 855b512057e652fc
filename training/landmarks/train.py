"""Train the landmark detector on the packed face renders.

  nice -n 5 /usr/bin/python3 training/landmarks/train.py [--data /work/data/faces128] [--out DIR]

Holds out the last 2,000 images for evaluation, trains with Adam (warm-up + cosine decay) on augmented
batches, checkpoints to DIR/checkpoint.pt every --ckpt-every steps (rerunning the same command resumes), and
finishes by evaluating on the held-out renders, sharp and blurred, writing DIR/eval.json and DIR/detector.pt.
One thread by default (the machine is shared).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import HOLDOUT, Pack, augment, gaussian_blur  # noqa: E402
from model import HEATMAP, INPUT_SIZE, Detector, count_params  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EVAL_BLUR_SIGMA = 1.0


def fmt_time(s):
    if not math.isfinite(s):
        return '?'
    m = int(s // 60)
    return f'{m}m{int(s % 60):02d}s' if m else f'{s:.1f}s'


def heatmap_targets(y, sigma_cells=1.0):
    """y: [N, L, 2] engine px -> [N, L, G*G] Gaussian probability targets on the heatmap grid."""
    s = INPUT_SIZE / HEATMAP
    c = (y - (s - 1) / 2) / s  # in cell units
    g = torch.arange(HEATMAP, dtype=torch.float32)
    gx = torch.exp(-(g[None, None] - c[..., 0:1]) ** 2 / (2 * sigma_cells ** 2))  # [N, L, G]
    gy = torch.exp(-(g[None, None] - c[..., 1:2]) ** 2 / (2 * sigma_cells ** 2))
    t = gy[..., :, None] * gx[..., None, :]
    t = t.reshape(*t.shape[:2], -1)
    return t / t.sum(-1, keepdim=True).clamp(min=1e-12)


@torch.no_grad()
def evaluate(model, pack, idx, blur_sigma=0.0, batch=200):
    """-> per-image per-landmark Euclidean errors [len(idx), L] in pixels."""
    model.eval()
    errs = []
    for i in range(0, len(idx), batch):
        x, y = pack.batch(idx[i:i + batch])
        if blur_sigma > 0:
            x = gaussian_blur(x, torch.full((x.shape[0],), blur_sigma))
        errs.append((model(x) - y).norm(dim=-1))
    model.train()
    return torch.cat(errs).numpy()


def summarize(errs, names):
    return {'mean': float(errs.mean()), 'median': float(np.median(errs)), 'p95': float(np.percentile(errs, 95)),
            'max': float(errs.max()), 'perLandmark': {n: round(float(e), 4) for n, e in zip(names, errs.mean(0))}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default='/work/data/faces128')
    ap.add_argument('--out', default=os.path.join(HERE, 'runs', 'default'))
    ap.add_argument('--epochs', type=float, default=4.0)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=200)
    ap.add_argument('--hm-weight', type=float, default=0.5, help='weight of the heatmap cross-entropy term')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--ckpt-every', type=int, default=200)
    ap.add_argument('--log-every', type=int, default=50)
    ap.add_argument('--limit', type=int, default=0, help='use only the first N images (smoke tests)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    pack = Pack(args.data)
    count = args.limit or pack.count
    holdout = min(HOLDOUT, count // 5) if args.limit else HOLDOUT
    train_n = count - holdout
    eval_idx = np.arange(train_n, count)
    steps_per_epoch = train_n // args.batch
    total = int(round(args.epochs * steps_per_epoch))
    print(f'data {args.data}: {pack.count} images, training on {train_n}, holding out {holdout}; '
          f'{total} steps of {args.batch} ({args.epochs} epochs)', flush=True)

    torch.manual_seed(args.seed)
    model = Detector(len(pack.names))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    perm, pos, step, elapsed_before = rng.permutation(train_n), 0, 0, 0.0
    ckpt = os.path.join(args.out, 'checkpoint.pt')
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        if s['args']['batch'] != args.batch or s['train_n'] != train_n:
            raise SystemExit(f'{ckpt} was made with other settings (batch/data); use another --out or delete it')
        model.load_state_dict(s['model'])
        opt.load_state_dict(s['opt'])
        gen.set_state(s['gen'])
        rng.set_state(s['rng'])
        perm, pos, step, elapsed_before = s['perm'], s['pos'], s['step'], s['elapsed']
        print(f'resumed from {ckpt} at step {step}', flush=True)
    print(f'model: {count_params(model)} parameters', flush=True)

    def save_ckpt():
        tmp = ckpt + '.tmp'
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'gen': gen.get_state(),
                    'rng': rng.get_state(), 'perm': perm, 'pos': pos, 'step': step, 'train_n': train_n,
                    'elapsed': elapsed_before + time.time() - t0, 'args': vars(args)}, tmp)
        os.replace(tmp, ckpt)

    def lr_at(k):
        if k < args.warmup:
            return args.lr * (k + 1) / args.warmup
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (k - args.warmup) / max(1, total - args.warmup))))

    t0, t_last, step0 = time.time(), time.time(), step
    run_l1 = run_err = None
    quick_eval = eval_idx[:300]
    while step < total:
        if pos + args.batch > train_n:
            perm, pos = rng.permutation(train_n), 0
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        x, y = pack.batch(idx)
        x, y = augment(x, y, gen)
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        pred, logits = model(x, return_logits=True)
        l1 = (pred - y).abs().mean()
        target = heatmap_targets(y)
        ce = -(target * F.log_softmax(logits.flatten(2), -1)).sum(-1).mean()
        loss = l1 + args.hm_weight * ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        err = (pred.detach() - y).norm(dim=-1).mean().item()
        run_l1 = l1.item() if run_l1 is None else 0.95 * run_l1 + 0.05 * l1.item()
        run_err = err if run_err is None else 0.95 * run_err + 0.05 * err
        if step % args.log_every == 0 or step == total:
            now = time.time()
            rate = (step - step0) / (now - t0)
            msg = (f'step {step}/{total} ep {step / steps_per_epoch:.2f} lr {lr_at(step - 1):.2e} '
                   f'train err {run_err:.3f}px ce {ce.item():.3f} | {rate * args.batch:.0f} img/s '
                   f'elapsed {fmt_time(elapsed_before + now - t0)} ETA {fmt_time((total - step) / rate)}')
            if step % (args.log_every * 8) == 0:
                msg += f' | held-out(300) {evaluate(model, pack, quick_eval).mean():.3f}px'
            print(msg, flush=True)
        if step % args.ckpt_every == 0 or step == total:
            save_ckpt()

    train_seconds = elapsed_before + time.time() - t0
    print(f'training done in {fmt_time(train_seconds)}; evaluating on {len(eval_idx)} held-out renders...', flush=True)
    sharp = evaluate(model, pack, eval_idx)
    blurred = evaluate(model, pack, eval_idx, blur_sigma=EVAL_BLUR_SIGMA)
    report = {
        'heldOut': {'images': int(len(eval_idx)), 'first': int(train_n), 'sharp': summarize(sharp, pack.names),
                    f'blurSigma{EVAL_BLUR_SIGMA:g}': summarize(blurred, pack.names)},
        'landmarkNames': pack.names,
        'training': {'images': int(train_n), 'steps': int(step), 'batch': args.batch, 'epochs': args.epochs,
                     'lr': args.lr, 'seconds': round(train_seconds, 1), 'threads': args.threads,
                     'data': os.path.abspath(args.data), 'dataStart': pack.meta.get('start', 0)},
        'params': count_params(model),
    }
    with open(os.path.join(args.out, 'eval.json'), 'w') as f:
        json.dump(report, f, indent=2)
    torch.save(model.state_dict(), os.path.join(args.out, 'detector.pt'))
    w = max(len(n) for n in pack.names)
    print(f'{"landmark":<{w}}  sharp  blur{EVAL_BLUR_SIGMA:g}')
    for i, n in enumerate(pack.names):
        print(f'{n:<{w}}  {sharp[:, i].mean():.3f}  {blurred[:, i].mean():.3f}')
    print(f'{"MEAN":<{w}}  {sharp.mean():.3f}  {blurred.mean():.3f}  (px at {INPUT_SIZE}, engine coordinates)')
    print(f'wrote {args.out}/eval.json and detector.pt', flush=True)


if __name__ == '__main__':
    main()

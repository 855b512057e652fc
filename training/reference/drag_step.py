"""PyTorch reference of the engine's DragGAN drag step, for speed comparison (npm run bench:reference).

    /usr/bin/python3 training/reference/drag_step.py --spec spec.json [--peak]

The spec (written by scripts/bench-reference.ts) names the model file, seed, psi, points, mask boxes and
drag constants. One step is what engine/src/drag/session.ts does for method 'draggan': forward synthesis up
to the feature block (ToRGB and skip image included, const noise), nearest-neighbour tracking of the
handles from step 1 on (window of radius r2 around the rounded handle, L2 to the step-0 feature),
motion supervision (mean |F(q + d) - stopgrad F(q)| over the disc |o| < r1, bilinear, align_corners=False,
border-clamped), the fixed-region term lambda * mean(|F - F0| * (1 - mask)) with a mask, and one Adam step
on the first `layers` w+ vectors. Runs it with each requested thread count and resampling variant
('reference' = the formulation the engine is specified against, 'fast' = training's sub-pixel up-conv and
separable FIR, mathematically identical) and prints JSON: median ms per step, per-step losses and handles
(to check that both implementations run the same step; with 'checkTfjsAbs' also one run with TensorFlow.js's
abs-gradient convention, which reproduces the engine's trajectory) and, with --peak, torch's GFLOP/s.
"""
import os

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # must precede the torch import (see training README)

import argparse
import json
import math
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import model_file  # noqa: E402
import networks  # noqa: E402


def synthesize_to(G, ws, block):
    """Block features x [1, C, block, block] (and the skip image) for ws [1, num_ws, w_dim]."""
    x = img = None
    w_idx = 0
    for r in G.synthesis.resolutions:
        if r > block:
            break
        b = getattr(G.synthesis, f'b{r}')
        x, img = b(x, img, ws[:, w_idx:w_idx + b.num_conv + 1], 'const')
        w_idx += b.num_conv
    return x, img


def sample(feat, pts, res):
    """Bilinear features at image-pixel points [n, 2] (x, y) -> [n, C]; align_corners=False, border clamp."""
    grid = (2 * pts + 1) / res - 1
    out = F.grid_sample(feat, grid.view(1, 1, -1, 2), mode='bilinear', padding_mode='border', align_corners=False)
    return out[0, :, 0].t()


def disc_offsets(r1):
    r = math.ceil(r1)
    return [(dx, dy) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dx * dx + dy * dy < r1 * r1]


def window_points(p, r, res):
    cx, cy = math.floor(p[0] + 0.5), math.floor(p[1] + 0.5)  # JS Math.round
    seen, out = set(), []
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            q = (min(max(cx + dx, 0), res - 1), min(max(cy + dy, 0), res - 1))
            if q not in seen:
                seen.add(q)
                out.append(q)
    return out


def fixed_weights(spec, res, h):
    """(1 - area-averaged mask) at feature resolution [h, h], as engine/src/drag/mask.ts."""
    m = torch.zeros(res, res)
    for x0, y0, x1, y1 in spec['maskBoxes']:
        m[y0:y1 + 1, x0:x1 + 1] = 1
    return F.avg_pool2d((1 - m)[None, None], res // h)[0, 0]


class TfjsAbs(torch.autograd.Function):
    """|x| with TensorFlow.js's gradient convention: d|x|/dx = -1 at x = 0 (torch's is 0). Only for checking
    that the engine computes the same step (spec 'checkTfjsAbs'); the timing runs use torch's abs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.abs()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.where(x > 0, torch.ones_like(x), -torch.ones_like(x))


def run_drag(G, cfg, spec, tfjs_abs=False):
    res = cfg['img_resolution']
    block = spec.get('featureBlock', cfg['drag_block'])
    L, steps = spec['layers'], spec['steps']
    z = model_file.seed_z(spec['seed'], cfg['z_dim'])
    with torch.no_grad():
        ws0 = G.mapping(z, psi=spec['psi'])
    opt_ws = ws0[:, :L].clone().requires_grad_(True)
    adam = torch.optim.Adam([opt_ws], lr=spec['lr'], betas=(0.9, 0.999), eps=1e-8)
    handles = [list(map(float, p['handle'])) for p in spec['points']]
    targets = [list(map(float, p['target'])) for p in spec['points']]
    offsets = torch.tensor(disc_offsets(spec['r1']), dtype=torch.float32)
    masked = bool(spec.get('maskBoxes'))
    absf = TfjsAbs.apply if tfjs_abs else torch.abs
    templates, f0, fw = None, None, None
    times, cpu_times, losses, tracks, update0 = [], [], [], [], None
    for k in range(steps):
        t = time.perf_counter()
        c = time.process_time()
        ws = torch.cat([opt_ws, ws0[:, L:]], 1)
        feat, _ = synthesize_to(G, ws, block)
        with torch.no_grad():
            if k == 0:
                templates = [sample(feat, torch.tensor([h]), res)[0] for h in handles]
                if masked:
                    f0 = feat.detach().clone()
                    fw = fixed_weights(spec, res, feat.shape[2])
            else:
                for i, h in enumerate(handles):
                    cand = window_points(h, spec['r2'], res)
                    fs = sample(feat, torch.tensor(cand, dtype=torch.float32), res)
                    j = int(((fs - templates[i]) ** 2).sum(1).argmin())
                    handles[i] = [float(cand[j][0]), float(cand[j][1])]
        loss = feat.new_zeros(())
        for h, tg in zip(handles, targets):
            d = torch.tensor([tg[0] - h[0], tg[1] - h[1]])
            n = float(d.norm())
            if n < spec['stopDistance']:
                continue
            qs = torch.tensor(h) + offsets
            moved = sample(feat, qs + d / n, res)
            ref = sample(feat.detach(), qs, res)
            loss = loss + absf(moved - ref).mean()
        if masked and spec['lambda'] > 0:
            loss = loss + spec['lambda'] * (absf(feat - f0) * fw).mean()
        adam.zero_grad(set_to_none=True)
        loss.backward()
        adam.step()
        times.append((time.perf_counter() - t) * 1000)
        cpu_times.append((time.process_time() - c) * 1000)  # all threads of the process
        if k == 0:  # the first Adam update, to compare gradients with the engine's
            update0 = (opt_ws.detach() - ws0[:, :L]).flatten().tolist()
        losses.append(float(loss))
        tracks.append([list(h) for h in handles])
    # Step 0 carries the one-time set-up, as in the engine's timing.
    timed = sorted(times[1:]) or times
    return {'msPerStep': timed[len(timed) // 2], 'times': times, 'cpuTimes': cpu_times, 'losses': losses, 'handles': tracks,
            'update0': update0}


def peak(threads, reps=5):
    """Median GFLOP/s of a 1024^3 matmul and a 3x3 conv (1x128x64x64 -> 128) at a thread count."""
    torch.set_num_threads(threads)
    out = {}
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x, w = torch.randn(1, 128, 64, 64), torch.randn(128, 128, 3, 3)
    for name, fn, flops in [('matmul1024', lambda: a @ b, 2 * 1024 ** 3),
                            ('conv3x3_128c_64px', lambda: F.conv2d(x, w, padding=1), 2 * 128 * 128 * 9 * 64 * 64)]:
        fn()
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[name] = flops / sorted(ts)[len(ts) // 2] / 1e9
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--spec', required=True)
    ap.add_argument('--peak', action='store_true', help='also measure matmul/conv2d GFLOP/s')
    args = ap.parse_args()
    spec = json.load(open(args.spec))
    G, cfg = model_file.load_generator(spec['model'])
    G.requires_grad_(False)
    result = {'torch': torch.__version__, 'runs': []}
    for threads in spec.get('threads', [2]):
        torch.set_num_threads(threads)
        for variant in spec.get('variants', ['reference']):
            networks.set_fast_resample(variant == 'fast')
            r = run_drag(G, cfg, spec)
            result['runs'].append({'threads': threads, 'variant': variant, **r})
    networks.set_fast_resample(False)
    if spec.get('checkTfjsAbs'):
        # The engine's exact arithmetic (abs gradient -1 at 0), to check it runs the same step.
        torch.set_num_threads(spec.get('threads', [2])[0])
        result['tfjsAbsCheck'] = run_drag(G, cfg, spec, tfjs_abs=True)
    if args.peak:
        result['peak'] = {str(t): peak(t) for t in spec.get('threads', [2])}
    result['maxRssMB'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == '__main__':
    main()

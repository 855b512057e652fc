"""Landmark diversity: where the landmark detector finds the 17 landmarks on generated samples vs dataset renders.

    nice -n 5 /usr/bin/python3 training/quality/diversity.py --model models/faces128/model.safetensors \
        --out docs/models/faces128-diversity.json

Samples: --count seeds from two_sample.py's held-out fake seeds (so a default run after two_sample.py reuses its
cached images), psi --psi, const noise, uint8. Dataset: --count renders starting at the first image the detector
did not train on (its metadata's held-out range). The detector (training/landmarks/model.py, weights from
--detector) runs in fp32 on both; coordinates are the engine convention (pixel centres at integers).

Reports per landmark the mean and std-dev of x and y for samples and for the dataset (detected; ground truth
too), the ratio samples/dataset of the std-devs (1 = same spread; < 1 = the generator covers less pose/layout
variety; > 1 may also mean detections on malformed faces scatter), the detector's heatmap spread (its own
uncertainty: larger on images that do not look like the faces it was trained on), and as a sanity check the
detector's error on the dataset images against ground truth (landmarks.f32 minus 0.5).
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import safetensors_io  # noqa: E402  (training/stylegan2)
from model import Detector  # noqa: E402  (training/landmarks)
from two_sample import DEFAULT_TRAIN  # noqa: E402

DETECTOR = os.path.join(common.REPO, 'models', 'landmarks', 'detector.safetensors')
DETECTOR_KEY = 'stabledrag.detector'


def load_detector(path):
    tensors, meta = safetensors_io.load(path)
    cfg = json.loads(meta[DETECTOR_KEY])
    det = Detector(len(cfg['landmarkNames']))
    det.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()}, strict=True)
    return det.eval(), cfg


def first_unseen(cfg, default=28000):
    """First dataset index the detector was not trained on (its heldOutError.indices 'A..B of DIR')."""
    m = re.match(r'\s*(\d+)\.\.', str((cfg.get('heldOutError') or {}).get('indices', '')))
    return int(m.group(1)) if m else default


def detect(det, x_uint8, batch=100):
    """-> (points [N, L, 2] engine px, heatmap spread [N, L] px = sqrt(var x + var y) of the softmax)."""
    pts, spread = [], []
    c = det.centres
    with torch.no_grad():
        for i in range(0, len(x_uint8), batch):
            p, logits = det(common.to_float(x_uint8[i:i + batch]), return_logits=True)
            n, l, h, w = logits.shape
            prob = F.softmax(logits.reshape(n, l, h * w), -1).reshape(n, l, h, w)
            px, py = prob.sum(2), prob.sum(3)  # marginals over x and y
            var = (px * c ** 2).sum(-1) - p[..., 0] ** 2 + (py * c ** 2).sum(-1) - p[..., 1] ** 2
            pts.append(p)
            spread.append(var.clamp(min=0).sqrt())
    return torch.cat(pts).numpy(), torch.cat(spread).numpy()


def stats(pts):
    """pts [N, L, 2] -> mean and std (ddof 1) of x and y per landmark, [L] each."""
    return {'meanX': pts[..., 0].mean(0), 'meanY': pts[..., 1].mean(0),
            'stdX': pts[..., 0].std(0, ddof=1), 'stdY': pts[..., 1].std(0, ddof=1)}


def r(a, nd=3):
    return [round(float(v), nd) for v in a] if np.ndim(a) else round(float(a), nd)


def run(args, log=print):
    t_start = time.time()
    common.set_threads(args.threads)
    det, dcfg = load_detector(args.detector)
    names = dcfg['landmarkNames']
    images, meta = common.open_pack(args.data)
    if list(meta['landmarkNames']) != names:
        raise SystemExit('dataset and detector landmark names differ')
    G, cfg = common.load_generator(args.model)
    info = common.model_info(args.model, cfg)

    # two_sample.py's default held-out fake seeds (extended past them when --count is larger).
    seeds = list(range(common.SEED_BASE + DEFAULT_TRAIN, common.SEED_BASE + DEFAULT_TRAIN + args.count))
    t0 = time.time()
    fake = common.samples(args.model, G, seeds, args.psi, args.cache, info['sha256'], log)
    t_gen = time.time() - t0

    first = args.data_first if args.data_first is not None else first_unseen(dcfg)
    idx = np.arange(first, first + args.count)
    if idx[-1] >= len(images):
        raise SystemExit(f'dataset has {len(images)} images; {first}+{args.count} is out of range')
    real = common.reals(images, idx)
    lm_all = np.memmap(os.path.join(args.data, 'landmarks.f32'), dtype='<f4', mode='r',
                       shape=(len(images), len(names), 2))
    gt = np.asarray(lm_all[idx], dtype=np.float32) - 0.5  # pack: pixel centres at +0.5 -> engine convention

    t0 = time.time()
    p_fake, s_fake = detect(det, fake)
    p_real, s_real = detect(det, real)
    t_det = time.time() - t0

    sf, sr, sg = stats(p_fake), stats(p_real), stats(gt)
    err = np.linalg.norm(p_real - gt, axis=-1)  # [N, L]
    ratio_x, ratio_y = sf['stdX'] / sr['stdX'], sf['stdY'] / sr['stdY']
    per_lm = {}
    for j, n in enumerate(names):
        per_lm[n] = {
            'samples': {k: r(v[j], 2) for k, v in sf.items()},
            'dataset': {k: r(v[j], 2) for k, v in sr.items()},
            'datasetGroundTruth': {k: r(v[j], 2) for k, v in sg.items()},
            'stdRatioX': r(ratio_x[j]), 'stdRatioY': r(ratio_y[j]),
            'heatmapSpread': {'samples': r(s_fake[:, j].mean(), 2), 'dataset': r(s_real[:, j].mean(), 2)},
            'detectorErrorPx': r(err[:, j].mean()),
        }
    summary = {
        'meanStdX': {'samples': r(sf['stdX'].mean(), 2), 'dataset': r(sr['stdX'].mean(), 2),
                     'datasetGroundTruth': r(sg['stdX'].mean(), 2)},
        'meanStdY': {'samples': r(sf['stdY'].mean(), 2), 'dataset': r(sr['stdY'].mean(), 2),
                     'datasetGroundTruth': r(sg['stdY'].mean(), 2)},
        'meanStdRatioX': r(ratio_x.mean()), 'meanStdRatioY': r(ratio_y.mean()),
        'meanStdRatio': r(np.concatenate([ratio_x, ratio_y]).mean()),
        'minStdRatio': r(min(ratio_x.min(), ratio_y.min())), 'maxStdRatio': r(max(ratio_x.max(), ratio_y.max())),
        'meanHeatmapSpreadPx': {'samples': r(s_fake.mean(), 2), 'dataset': r(s_real.mean(), 2)},
        'meanPositionShiftPx': r(np.linalg.norm(np.stack([sf['meanX'] - sr['meanX'], sf['meanY'] - sr['meanY']],
                                                        -1), axis=-1).mean(), 2),
    }
    det_err = {'images': len(idx), 'indices': f'{idx[0]}..{idx[-1]}', 'unit': 'px (Euclidean) at 128 px',
               'mean': r(err.mean()), 'median': r(np.median(err)), 'p95': r(np.percentile(err, 95)),
               'max': r(err.max()),
               'metadataHeldOutMean': r(((dcfg.get('heldOutError') or {}).get('sharp') or {}).get('mean', float('nan')))}
    result = {
        'test': 'landmark diversity (detector on generated samples vs dataset renders)',
        'model': info,
        'summary': summary,
        'detectorErrorOnDataset': det_err,
        'perLandmark': per_lm,
        'samples': {'count': len(seeds), 'seeds': f'{seeds[0]}-{seeds[-1]}', 'psi': args.psi, 'noise': 'const',
                    'quantisation': 'uint8, clamp(round((img + 1) * 127.5))'},
        'dataset': {'data': args.data, 'indices': f'{idx[0]}..{idx[-1]}',
                    'note': 'not in the detector training set (its held-out range); the generator trained on all images'},
        'detector': {'file': os.path.relpath(os.path.abspath(args.detector), common.REPO),
                     'architecture': dcfg.get('architecture'), 'precision': 'fp32 (weights as stored)',
                     'coordinates': 'engine convention: (0, 0) = centre of the top-left pixel; ground truth = landmarks.f32 - 0.5'},
        'units': 'px at 128x128; std-devs with ddof 1; heatmap spread = sqrt(var x + var y) of the softmax over cells',
        'threads': args.threads,
        'seconds': {'samples': round(t_gen, 1), 'detector': round(t_det, 1), 'total': round(time.time() - t_start, 1)},
        'command': ' '.join(['/usr/bin/python3', 'training/quality/diversity.py'] + sys.argv[1:]),
        'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    }
    log(f'std-dev x/y (mean over landmarks): samples {summary["meanStdX"]["samples"]}/{summary["meanStdY"]["samples"]} px, '
        f'dataset {summary["meanStdX"]["dataset"]}/{summary["meanStdY"]["dataset"]} px; mean ratio '
        f'{summary["meanStdRatio"]} (range {summary["minStdRatio"]}-{summary["maxStdRatio"]}); heatmap spread samples '
        f'{summary["meanHeatmapSpreadPx"]["samples"]} vs dataset {summary["meanHeatmapSpreadPx"]["dataset"]} px; '
        f'detector error on dataset {det_err["mean"]} px (metadata {det_err["metadataHeldOutMean"]}); '
        f'{result["seconds"]["total"]:.0f}s')
    return result


def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True, help='generator model file (.safetensors)')
    ap.add_argument('--out', help='result JSON (default: print only)')
    ap.add_argument('--detector', default=DETECTOR)
    ap.add_argument('--data', default=common.DEFAULT_DATA)
    ap.add_argument('--data-first', type=int, help='first dataset index (default: the detector\'s first held-out image)')
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--psi', type=float, default=1.0)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--cache', default=common.DEFAULT_CACHE, help="generated-sample cache dir ('' = none)")
    return ap


def main():
    args = parser().parse_args()
    result = run(args)
    if args.out:
        common.write_json(args.out, result)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()

"""Write the model card (docs/models.md) for a generator file, with its sample grids and quality numbers.

    nice -n 5 /usr/bin/python3 training/quality/model_card.py --model models/faces128/model.safetensors \
        --out docs/models.md

Reads the two-sample and diversity results (default DIR/NAME-two-sample.json and DIR/NAME-diversity.json,
DIR = --assets = the folder `models/` next to --out); a missing result, or one measured on a different file
(sha256), is recomputed with the default settings and written there (--rerun forces both). Also writes, into
--assets, 8x8 grids of seeds 0-63 at psi 0.7 and 1.0 (NAME-samples-psi07.png, -psi10.png; reference
resampling, const noise: the images the engine makes for those seeds) and dataset-preview.png (renders 0-63).
Everything shown about the model is read from the file's metadata; the detector section from its metadata.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)

import numpy as np  # noqa: E402

import card_text  # noqa: E402
import diversity  # noqa: E402
import grids  # noqa: E402
import networks  # noqa: E402
import two_sample  # noqa: E402

MAX_PNG_BYTES = 1_500_000


def rel(path, start):
    return os.path.relpath(os.path.abspath(path), os.path.abspath(start))


# The two-sample test again at coarser classifier inputs: still separable at 8x8 means the samples differ in
# colour or layout, not only in texture, which tells whoever trains next what to look at.
COARSE_SIZES = (16, 8)


def result_for(name, module, path, model, sha, args, log, more=()):
    """Load a result JSON measured on this model file, or (re)compute it with the script's defaults (+ more)."""
    if os.path.exists(path) and not args.rerun:
        res = common.read_json(path)
        if (res.get('model') or {}).get('sha256') == sha:
            log(f'{name}: using {path}')
            return res
        log(f'{name}: {path} was measured on another model file; recomputing')
    argv = ['--model', model, '--out', path] + list(more) + extra_args(args)
    if module is diversity and os.path.abspath(args.detector) != os.path.abspath(diversity.DETECTOR):
        argv += ['--detector', args.detector]
    res = run_script(module, argv, log)
    common.write_json(path, res)
    return res


def extra_args(args):
    """Options passed on to the checks: only non-defaults, so the recorded commands stay short."""
    out = []
    if args.threads != 1:
        out += ['--threads', str(args.threads)]
    if args.cache != common.DEFAULT_CACHE:
        out += ['--cache', args.cache]
    if args.data != common.DEFAULT_DATA:
        out += ['--data', args.data]
    return out


def run_script(module, argv, log):
    """module.run with these command-line options; records the equivalent standalone command (paths shown
    relative to the repo root, where the commands are meant to be run)."""
    path_opts = {'--model', '--out', '--data', '--cache', '--detector'}
    real = [os.path.abspath(a) if i and argv[i - 1] in path_opts and a else a for i, a in enumerate(argv)]
    show = [common.shown(a) if i and argv[i - 1] in path_opts and a else a for i, a in enumerate(argv)]
    cmd = ' '.join(['/usr/bin/python3', f'training/quality/{module.__name__}.py'] + show)
    log(f'running: {cmd}')
    res = module.run(module.parser().parse_args(real), log=log)
    res['command'] = cmd
    return res


def write_grids(args, G, cfg, assets, log):
    name = cfg.get('name', 'model')
    out = {}
    networks.set_fast_resample(False)  # the reference formulation the engine is specified against
    seeds = list(range(64))
    for psi, tag in ((0.7, 'psi07'), (1.0, 'psi10')):
        t0 = time.time()
        imgs = common.generate_uint8(G, seeds, psi)
        path = os.path.join(assets, f'{name}-samples-{tag}.png')
        size, bits = grids.write_grid(path, imgs, max_bytes=MAX_PNG_BYTES)
        log(f'wrote {path} ({size / 1e6:.2f} MB, {bits} bits per channel, {time.time() - t0:.0f}s)')
        out[tag] = (path, size, bits)
    images, _ = common.open_pack(args.data)
    path = os.path.join(assets, 'dataset-preview.png')
    size, bits = grids.write_grid(path, np.asarray(images[:64]), max_bytes=MAX_PNG_BYTES)
    log(f'wrote {path} ({size / 1e6:.2f} MB, {bits} bits per channel)')
    out['dataset'] = (path, size, bits)
    for path, size, _ in out.values():
        if size > MAX_PNG_BYTES:
            log(f'warning: {path} is {size / 1e6:.2f} MB, over {MAX_PNG_BYTES / 1e6:.1f} MB')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True, help='generator model file (.safetensors)')
    ap.add_argument('--out', default=os.path.join(common.REPO, 'docs', 'models.md'))
    ap.add_argument('--assets', help='folder for the PNGs and result JSONs (default: models/ next to --out)')
    ap.add_argument('--two-sample', help='two_sample.py result JSON (default: ASSETS/NAME-two-sample.json)')
    ap.add_argument('--diversity', help='diversity.py result JSON (default: ASSETS/NAME-diversity.json)')
    ap.add_argument('--rerun', action='store_true', help='recompute both results even if present')
    ap.add_argument('--data', default=common.DEFAULT_DATA)
    ap.add_argument('--detector', default=diversity.DETECTOR)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--cache', default=common.DEFAULT_CACHE)
    args = ap.parse_args()

    t0 = time.time()
    common.set_threads(args.threads)
    log = print
    G, cfg = common.load_generator(args.model)
    info = common.model_info(args.model, cfg)
    name = cfg.get('name', 'model')
    out_dir = os.path.dirname(os.path.abspath(args.out))
    assets = args.assets or os.path.join(out_dir, 'models')
    os.makedirs(assets, exist_ok=True)
    ts_path = args.two_sample or os.path.join(assets, f'{name}-two-sample.json')
    dv_path = args.diversity or os.path.join(assets, f'{name}-diversity.json')

    ts = result_for('two-sample test', two_sample, ts_path, args.model, info['sha256'], args, log)
    coarse = {size: result_for(f'two-sample test at {size} px', two_sample,
                               os.path.join(assets, f'{name}-two-sample-{size}px.json'), args.model, info['sha256'],
                               args, log, more=['--size', str(size)])
              for size in COARSE_SIZES}
    dv = result_for('landmark diversity', diversity, dv_path, args.model, info['sha256'], args, log)
    ctl_path = os.path.join(assets, 'two-sample-control.json')
    if os.path.exists(ctl_path):  # independent of the model: computed once
        ctl = common.read_json(ctl_path)
    else:
        ctl = run_script(two_sample, ['--control', '--out', ctl_path] + extra_args(args), log)
        common.write_json(ctl_path, ctl)
    png = write_grids(args, G, cfg, assets, log)
    # Drag strips come from the engine (scripts/drag-strips.ts); shown only when measured on this very file.
    drags_path = os.path.join(assets, f'{name}-drags.json')
    drags = common.read_json(drags_path) if os.path.exists(drags_path) else None
    if drags and (drags.get('model') or {}).get('sha256') != info['sha256']:
        log(f'{drags_path} was measured on another model file: rerun npx tsx scripts/drag-strips.ts')
        drags = None

    # Measured separately (it needs earlier exports of the run): training/quality/two_sample_trend.py.
    trend_path = os.path.join(assets, f'{name}-two-sample-trend.json')
    trend = common.read_json(trend_path) if os.path.exists(trend_path) else None

    det_meta = diversity.load_detector(args.detector)[1]
    _, data_meta = common.open_pack(args.data)
    ctx = {
        'cfg': cfg, 'info': info, 'params': sum(p.numel() for p in G.parameters()),
        'dtype': card_text.stored_dtype(args.model),
        'two_sample': ts, 'two_sample_coarse': coarse, 'trend': trend, 'diversity': dv, 'control': ctl, 'detector': det_meta, 'detector_info': {
            'file': rel(args.detector, common.REPO), 'bytes': os.path.getsize(args.detector),
            'sha256': common.file_sha256(args.detector)},
        'data': args.data, 'data_meta': data_meta,
        'png': {k: (rel(p, out_dir), s, b) for k, (p, s, b) in png.items()},
        'drags': drags, 'drags_png': rel(drags_path[:-len('.json')] + '.png', out_dir),
        'results': {'two_sample': rel(ts_path, out_dir), 'trend': rel(trend_path, out_dir),
                    'diversity': rel(dv_path, out_dir), 'control': rel(ctl_path, out_dir)},
        'card_command': ' '.join(['/usr/bin/python3', 'training/quality/model_card.py'] + sys.argv[1:]),
    }
    text = card_text.render(ctx)
    with open(args.out, 'w') as f:
        f.write(text)
    log(f'wrote {args.out} ({len(text)} chars) in {time.time() - t0:.0f}s')


if __name__ == '__main__':
    main()

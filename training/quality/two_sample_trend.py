"""The two-sample test on several exports of one run, to show how fast training closes the gap.

    nice -n 5 /usr/bin/python3 training/quality/two_sample_trend.py --threads 2 \
        --models a.safetensors,b.safetensors,... --out docs/models/faces128-two-sample-trend.json

Each model is scored with two_sample.py's defaults at every --sizes input size (same seeds, same renders, same
classifier), so the rows differ only in the generator. Older exports come from git history
(`git show REV:models/faces128/model.safetensors > F`), newer ones from `export.py --ckpt CKPT --out F`.
The model card shows the result (card_text.trend_note) when the file exists; nothing else reads it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)
import two_sample  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', required=True, help='comma-separated model files (.safetensors), any order')
    ap.add_argument('--sizes', default='64,8', help='classifier input sizes (64 = the card\'s main test)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    rows = []
    for path in args.models.split(','):
        row = None
        for size in (int(s) for s in args.sizes.split(',')):
            res = two_sample.run(two_sample.parser().parse_args(
                ['--model', path, '--size', str(size), '--threads', str(args.threads)]), log=print)
            row = row or {'kimg': res['model']['kimg'], 'file': common.shown(path), 'sha256': res['model']['sha256'],
                          'accuracy': {}}
            row['accuracy'][str(size)] = {'heldOut': res['heldOutAccuracy'], 'ci95': res['ci95']}
        rows.append(row)
    rows.sort(key=lambda r: r['kimg'])
    common.write_json(args.out, {
        'test': 'classifier two-sample test (two_sample.py defaults) per export of the run',
        'target': two_sample.TARGET, 'rows': rows,
        'command': (f'/usr/bin/python3 training/quality/two_sample_trend.py --threads {args.threads} --sizes '
                    f'{args.sizes} --models ' + ','.join(r['file'] for r in rows)),
    })
    for r in rows:
        print(f'{r["kimg"]:8.1f} kimg: ' + ', '.join(f'{s} px {a["heldOut"]:.3f}' for s, a in r['accuracy'].items()))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()

"""Export a trained detector to models/landmarks/detector.safetensors (the format engine/src/landmarks reads).

  /usr/bin/python3 training/landmarks/export.py [--run training/landmarks/runs/default] [--dtype F16]

Tensors keep PyTorch names and layouts (conv weights [out, in, kh, kw]). The metadata key
`stabledrag.detector` holds the JSON config: architecture (layer lists the loader checks shapes against),
landmark names in order, input size, normalisation, output coordinate convention, and the held-out error
measured with the exported (rounded) weights.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
sys.path.append(os.path.join(REPO, 'training', 'stylegan2'))  # for safetensors_io (appended: its train.py must not shadow ours)
import safetensors_io  # noqa: E402
from data import Pack  # noqa: E402
from model import DECODER, ENCODER, HEATMAP, INPUT_SIZE, Detector, count_params, param_shapes  # noqa: E402
from train import EVAL_BLUR_SIGMA, evaluate, summarize  # noqa: E402

METADATA_KEY = 'stabledrag.detector'
ARCHITECTURE = 'heatmap-unet-softargmax-v1'
DEFAULT_OUT = os.path.join(REPO, 'models', 'landmarks', 'detector.safetensors')


def build_config(names, held_out, training, params):
    return {
        'architecture': ARCHITECTURE,
        'description': ('Landmark detector for the faces128 domain. Encoder: 3x3 convs (padding 1 on every side, '
                        'ReLU) per `encoder` entry; decoder per `decoder` entry: y = relu(conv3x3(relu(upsample2x_nearest('
                        'proj1x1(x)) + skip))), skip = the encoder output at twice the resolution; head: 1x1 conv to '
                        'one heatmap per landmark at heatmapSize^2; softmax over the heatmap positions; output = '
                        'expected cell centre, cell j centre at j*s + (s-1)/2 with s = inputSize/heatmapSize.'),
        'inputSize': INPUT_SIZE,
        'inputChannels': 3,
        'inputFormat': 'RGB (alpha ignored), row-major',
        'normalization': {'formula': 'x / 127.5 - 1', 'scale': 1 / 127.5, 'offset': -1.0},
        'heatmapSize': HEATMAP,
        'encoder': [{'name': n, 'in': i, 'out': o, 'kernel': k, 'stride': s, 'padding': k // 2}
                    for n, i, o, k, s in ENCODER],
        'decoder': [{'name': n, 'coarse': c, 'channels': s} for n, c, s in DECODER],
        'head': {'name': 'head', 'in': DECODER[-1][2], 'out': len(names), 'kernel': 1},
        'landmarkNames': names,
        'outputs': 'Float32 [N, landmarks, 2]: (x, y) in input pixels',
        'coordinates': ('(0, 0) is the centre of the top-left pixel (the engine Point convention); '
                        'training/faces landmarks.f32 values minus 0.5'),
        'params': params,
        'heldOutError': held_out,
        'training': training,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', default=os.path.join(HERE, 'runs', 'default'))
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--dtype', choices=['F16', 'F32'], default='F16')
    ap.add_argument('--data', default=None, help='pack to re-measure the held-out error on (default: the one trained on)')
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with open(os.path.join(args.run, 'eval.json')) as f:
        report = json.load(f)
    names = report['landmarkNames']
    state = torch.load(os.path.join(args.run, 'detector.pt'))
    shapes = param_shapes(len(names))
    if set(state) != set(shapes):
        raise SystemExit(f'state dict names {sorted(set(state) ^ set(shapes))} do not match the architecture')
    np_dtype = np.float16 if args.dtype == 'F16' else np.float32
    tensors = {}
    for k, shape in shapes.items():
        a = state[k].numpy()
        if list(a.shape) != shape:
            raise SystemExit(f'{k}: shape {list(a.shape)} != {shape}')
        tensors[k] = a.astype(np_dtype)

    # Re-measure on the held-out renders with the weights as stored (F16 rounding included).
    model = Detector(len(names))
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    held = report['heldOut']
    data = args.data or report['training']['data']
    if os.path.exists(os.path.join(data, 'meta.json')):
        pack = Pack(data)
        idx = np.arange(held['first'], held['first'] + held['images'])
        sharp = evaluate(model, pack, idx)
        blurred = evaluate(model, pack, idx, blur_sigma=EVAL_BLUR_SIGMA)
        held_out = {'images': held['images'], 'indices': f'{idx[0]}..{idx[-1]} of {data}',
                    'weights': args.dtype, 'unit': 'px (Euclidean) at 128 px',
                    'sharp': summarize(sharp, names), f'blurSigma{EVAL_BLUR_SIGMA:g}': summarize(blurred, names)}
        print(f'held-out error with {args.dtype} weights: sharp {sharp.mean():.3f}px, blurred {blurred.mean():.3f}px '
              f'(fp32 training run: {held["sharp"]["mean"]:.3f} / {held[f"blurSigma{EVAL_BLUR_SIGMA:g}"]["mean"]:.3f})')
    else:
        print(f'warning: {data} not found; storing the training run\'s fp32 held-out error')
        held_out = {**held, 'weights': 'F32 (training run)', 'unit': 'px (Euclidean) at 128 px'}

    config = build_config(names, held_out, report['training'], count_params(model))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    safetensors_io.save(args.out, tensors, {METADATA_KEY: json.dumps(config)})
    size = os.path.getsize(args.out)
    print(f'wrote {args.out}: {size} bytes ({size / 1e6:.2f} MB), {len(tensors)} tensors, {config["params"]} params, {args.dtype}')
    if size >= 2_000_000:
        raise SystemExit('the exported detector is over 2 MB')


if __name__ == '__main__':
    main()

"""The PyTorch reference drag step (training/reference/drag_step.py) on CUDA when torch sees a GPU, else on
the CPU, for scripts/gpu-check.sh:

    python3 scripts/gpu-reference-step.py --model DIR/model.safetensors [--steps 10]

Prints one JSON line: device, torch version, resolution, median ms per step (step 0, the set-up, excluded).
The step reads the tracked handles back every step (as the engine does), so per-step wall times include
the GPU work of the step before; their median is the steady-state step time.
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'training', 'reference'))
sys.path.insert(0, os.path.join(ROOT, 'training', 'stylegan2'))

import torch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--model', required=True)
ap.add_argument('--steps', type=int, default=10)
args = ap.parse_args()

device = 'cuda' if torch.cuda.is_available() else 'cpu'
if device == 'cuda':
    # drag_step builds its small tensors (offsets, points, windows) with torch.tensor: put them on the GPU too.
    torch.set_default_device(device)

import drag_step  # noqa: E402
import model_file  # noqa: E402

seed_z = model_file.seed_z
model_file.seed_z = lambda seed, z_dim: seed_z(seed, z_dim).to(device)
G, cfg = model_file.load_generator(args.model, device=device)
G.requires_grad_(False)
res = cfg['img_resolution']
spec = {'seed': 0, 'psi': 0.7, 'points': [{'handle': [round(res * 0.3), round(res * 0.5)], 'target': [round(res * 0.6), round(res * 0.5)]}],
        'maskBoxes': [], 'steps': args.steps + 1, 'lr': 0.002, 'r1': 3, 'r2': 12, 'lambda': 0, 'layers': 6, 'stopDistance': 0}
r = drag_step.run_drag(G, cfg, spec)
if device == 'cuda':
    torch.cuda.synchronize()
print(json.dumps({'device': torch.cuda.get_device_name() if device == 'cuda' else 'cpu', 'torch': torch.__version__, 'resolution': res,
                  'featureBlock': cfg['drag_block'], 'steps': args.steps, 'msPerStep': round(r['msPerStep'], 2)}))

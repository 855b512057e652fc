"""Reference tensors for the diffusion drag's pieces, on the tiny models in tests/fixtures/diffusion/tiny.

Usage: PYTHONPATH=SHIMS python3 training/reference/diffusion_drag_reference.py DIFFUSERS_SRC [FIXTURE_DIR]
  DIFFUSERS_SRC: the `src` folder of a diffusers v0.21.4 checkout kept outside the repository.

Writes FIXTURE_DIR/drag-reference.safetensors with:
- lora.*: LoRA (diffusers' LoRALinearLayer on every attention's to_q/to_k/to_v/to_out.0, the peft-style
  adapters DragDiffusion trains) with given non-zero weights, the denoising loss DragDiffusion trains them
  with (a latent noised to given timesteps, MSE to the noise) and that loss's gradient for every adapter;
- drag.*: one DragDiffusion latent step (drag_utils.drag_diffusion_update): motion supervision on the UNet's
  last up block's features resized to half the image, plus the mask term on the DDIM step's latent, and its
  gradient with respect to the latent being optimised.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import safetensors_io  # noqa: E402

sys.path.insert(0, sys.argv[1])
from diffusers import DDIMScheduler, UNet2DConditionModel  # noqa: E402
from diffusers.models.lora import LoRALinearLayer  # noqa: E402

DIR = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, '..', '..', 'tests', 'fixtures', 'diffusion', 'tiny')
torch.manual_seed(1)


def load_unet():
    with open(os.path.join(DIR, 'unet', 'config.json')) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith('_')}
    unet = UNet2DConditionModel(**cfg).eval()
    sd, _ = safetensors_io.load(os.path.join(DIR, 'unet', 'diffusion_pytorch_model.safetensors'))
    unet.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in sd.items()})
    for p in unet.parameters():
        p.requires_grad_(False)
    return unet


def attention_projections(unet):
    out = []
    for name, module in unet.named_modules():
        if name.endswith(('attn1', 'attn2')):
            out += [(f'{name}.to_q', module.to_q), (f'{name}.to_k', module.to_k), (f'{name}.to_v', module.to_v), (f'{name}.to_out.0', module.to_out[0])]
    return out


def lora_reference(ref, unet, ctx, sched):
    rank = 4
    layers = []
    for name, lin in attention_projections(unet):
        layer = LoRALinearLayer(lin.in_features, lin.out_features, rank)
        with torch.no_grad():
            layer.up.weight.copy_(torch.randn_like(layer.up.weight) * 0.2)
        lin.set_lora_layer(layer)
        layers.append((name, layer))
        ref[f'lora.{name}.down'] = layer.down.weight.detach().numpy().copy()
        ref[f'lora.{name}.up'] = layer.up.weight.detach().numpy().copy()
    latent = torch.randn(1, 4, 8, 8)
    noise = torch.randn(2, 4, 8, 8)
    t = torch.tensor([700, 50])
    noisy = sched.add_noise(latent.repeat(2, 1, 1, 1), noise, t)
    pred = unet(noisy, t, encoder_hidden_states=ctx.repeat(2, 1, 1)).sample
    loss = F.mse_loss(pred, noise)
    loss.backward()
    ref['lora.rank'] = np.array([rank], np.float32)
    ref['lora.latent'] = latent.numpy()
    ref['lora.noise'] = noise.numpy()
    ref['lora.timesteps'] = t.float().numpy()
    ref['lora.loss'] = np.array([loss.item()], np.float32)
    for name, layer in layers:
        ref[f'lora.{name}.down.grad'] = layer.down.weight.grad.numpy().copy()
        ref[f'lora.{name}.up.grad'] = layer.up.weight.grad.numpy().copy()
        lin = dict(attention_projections(unet))[name]
        lin.set_lora_layer(None)


def interpolate_feature_patch(feat, y1, y2, x1, x2):
    """drag_utils.interpolate_feature_patch: the patch [y1, y2) x [x1, x2) at fractional offsets, bilinearly."""
    x1_floor = torch.floor(x1).long()
    x1_cell = x1_floor + 1
    dx = torch.floor(x2).long() - torch.floor(x1).long()
    y1_floor = torch.floor(y1).long()
    y1_cell = y1_floor + 1
    dy = torch.floor(y2).long() - torch.floor(y1).long()
    wa = (x1_cell.float() - x1) * (y1_cell.float() - y1)
    wb = (x1_cell.float() - x1) * (y1 - y1_floor.float())
    wc = (x1 - x1_floor.float()) * (y1_cell.float() - y1)
    wd = (x1 - x1_floor.float()) * (y1 - y1_floor.float())
    Ia = feat[:, :, y1_floor:y1_floor + dy, x1_floor:x1_floor + dx]
    Ib = feat[:, :, y1_cell:y1_cell + dy, x1_floor:x1_floor + dx]
    Ic = feat[:, :, y1_floor:y1_floor + dy, x1_cell:x1_cell + dx]
    Id = feat[:, :, y1_cell:y1_cell + dy, x1_cell:x1_cell + dx]
    return Ia * wa + Ib * wb + Ic * wc + Id * wd


def drag_reference(ref, unet, ctx, sched):
    """One step of drag_diffusion_update at a latent already moved off the start (so the mask term's
    gradient is not zero), handles at their tracked positions; points are (x, y) in feature pixels."""
    sched.set_timesteps(10)
    t = int(sched.timesteps[3])
    image = 16
    sup = image // 2
    block = len(unet.up_blocks) - 1
    feats = {}
    hook = unet.up_blocks[block].register_forward_hook(lambda m, i, o: feats.__setitem__('f', o))

    def forward(code):
        eps = unet(code, t, encoder_hidden_states=ctx).sample
        return eps, F.interpolate(feats['f'], (sup, sup), mode='bilinear')

    code0 = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        eps0, _ = forward(code0)
        x_prev_0 = sched.step(eps0, t, code0).prev_sample
    code = (code0 + 0.05 * torch.randn_like(code0)).requires_grad_(True)
    eps, f1 = forward(code)
    hook.remove()
    x_prev = sched.step(eps, t, code).prev_sample
    handles = torch.tensor([[3.0, 4.0], [5.0, 2.0]])
    targets = torch.tensor([[6.0, 4.0], [5.0, 6.0]])
    mask = torch.zeros(1, 1, image, image)
    mask[:, :, 2:14, 2:14] = 1
    r_m, lam = 1, 0.1
    loss = 0.0
    for p, q in zip(handles, targets):
        pi = p.flip(0)  # DragDiffusion's points are (row, col)
        ti = q.flip(0)
        di = (ti - pi) / (ti - pi).norm()
        r1, r2 = int(pi[0]) - r_m, int(pi[0]) + r_m + 1
        c1, c2 = int(pi[1]) - r_m, int(pi[1]) + r_m + 1
        f0_patch = f1[:, :, r1:r2, c1:c2].detach()
        f1_patch = interpolate_feature_patch(f1, r1 + di[0], r2 + di[0], c1 + di[1], c2 + di[1])
        loss = loss + ((2 * r_m + 1) ** 2) * F.l1_loss(f0_patch, f1_patch)
    interp_mask = F.interpolate(mask, (code.shape[2], code.shape[3]), mode='nearest')
    loss = loss + lam * ((x_prev - x_prev_0) * (1.0 - interp_mask)).abs().sum()
    loss.backward()
    ref['drag.t'] = np.array([t], np.float32)
    ref['drag.code0'] = code0.numpy()
    ref['drag.code'] = code.detach().numpy()
    ref['drag.handles'] = handles.numpy()
    ref['drag.targets'] = targets.numpy()
    ref['drag.mask'] = mask[0, 0].numpy()
    ref['drag.loss'] = np.array([loss.item()], np.float32)
    ref['drag.grad'] = code.grad.numpy()


def main():
    base, _ = safetensors_io.load(os.path.join(DIR, 'reference.safetensors'))
    ctx = torch.from_numpy(base['unet.encoder_hidden_states'][:1].astype(np.float32))
    with open(os.path.join(DIR, 'scheduler', 'scheduler_config.json')) as f:
        sched = DDIMScheduler(**{k: v for k, v in json.load(f).items() if not k.startswith('_')})
    unet = load_unet()
    ref = {}
    lora_reference(ref, unet, ctx, sched)
    drag_reference(ref, unet, ctx, sched)
    safetensors_io.save(os.path.join(DIR, 'drag-reference.safetensors'), {k: np.asarray(v, np.float32) for k, v in ref.items()},
                        {'diffusers': 'v0.21.4', 'torch': torch.__version__})
    for k, v in ref.items():
        if not k.startswith('lora.') or k.endswith('loss'):
            print(f'{k:32s} {tuple(np.shape(v))}  max|x| {np.abs(v).max():.4g}')
    print('lora adapters', sum(1 for k in ref if k.endswith('.down.grad')))


if __name__ == '__main__':
    main()

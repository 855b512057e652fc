"""Reference tensors for the diffusion drag's pieces, on the tiny models in tests/fixtures/diffusion/tiny.

Usage: PYTHONPATH=SHIMS python3 training/reference/diffusion_drag_reference.py DIFFUSERS_SRC [FIXTURE_DIR]
  DIFFUSERS_SRC: the `src` folder of a diffusers v0.21.4 checkout kept outside the repository.

Writes FIXTURE_DIR/drag-reference.safetensors with:
- lora.*: LoRA (diffusers' LoRALinearLayer on every attention's to_q/to_k/to_v/to_out.0, the peft-style
  adapters DragDiffusion trains) with given non-zero weights, the denoising loss DragDiffusion trains them
  with (a latent noised to given timesteps, MSE to the noise) and that loss's gradient for every adapter;
- masa.*: the final denoising with mutual self-attention, transcribing DragDiffusion's utils/attn_utils.py
  (MutualSelfAttentionControl with start_step 0 through register_attention_editor_diffusers): the batch
  [original, edited] denoised together, the self-attention of transformer layers from start_layer on taking
  keys/values from the original;
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


class MutualSelfAttention:
    """attn_utils' AttentionBase + MutualSelfAttentionControl (guidance 1, start_step 0): counts attention
    calls in forward order; layer = call // 2 (self and cross per transformer); from start_layer on, every
    query of the batch attends to the first element's (the original's) keys and values."""

    def __init__(self, unet, start_layer):
        self.start_layer = start_layer
        self.cur = 0
        self.modules = [m for n, m in unet.named_modules() if n.endswith(('attn1', 'attn2'))]
        for m in self.modules:
            m.forward = self.make_forward(m)

    def make_forward(self, attn):
        def forward(x, encoder_hidden_states=None, attention_mask=None, **kwargs):
            is_cross = encoder_hidden_states is not None
            ctx = encoder_hidden_states if is_cross else x
            h = attn.heads
            q, k, v = attn.to_q(x), attn.to_k(ctx), attn.to_v(ctx)
            b, n, c = q.shape
            split = lambda t: t.reshape(t.shape[0], t.shape[1], h, c // h).permute(0, 2, 1, 3).reshape(-1, t.shape[1], c // h)
            q, k, v = split(q), split(k), split(v)
            layer = self.cur // 2
            if is_cross or layer < self.start_layer:
                sim = torch.einsum('b i d, b j d -> b i j', q, k) * attn.scale
                out = torch.einsum('b i j, b j d -> b i d', sim.softmax(-1), v)
                out = out.reshape(b, h, n, c // h).permute(0, 2, 1, 3).reshape(b, n, c)
            else:
                # attn_batch(q, k[:num_heads], v[:num_heads]): '(b h) n d -> h (b n) d'
                qh = q.reshape(b, h, n, c // h).permute(1, 0, 2, 3).reshape(h, b * n, c // h)
                kh, vh = k[:h], v[:h]
                sim = torch.einsum('h i d, h j d -> h i j', qh, kh) * attn.scale
                out = torch.einsum('h i j, h j d -> h i d', sim.softmax(-1), vh)
                out = out.reshape(h, b, n, c // h).permute(1, 2, 0, 3).reshape(b, n, c)
            self.cur = (self.cur + 1) % len(self.modules)
            return attn.to_out[1](attn.to_out[0](out))
        return forward


def masa_reference(ref, unet, ctx, sched):
    steps, strength, start_layer = 10, 0.7, 2
    sched.set_timesteps(steps)
    count = int(steps * strength)
    original = torch.randn(1, 4, 8, 8)
    edited = original + 0.3 * torch.randn(1, 4, 8, 8)
    MutualSelfAttention(unet, start_layer)
    x = torch.cat([original, edited])
    with torch.no_grad():
        for t in sched.timesteps[steps - count:]:
            x = sched.step(unet(x, t, encoder_hidden_states=ctx.repeat(2, 1, 1)).sample, t, x).prev_sample
    ref['masa.start_layer'] = np.array([start_layer], np.float32)
    ref['masa.original'] = original.numpy()
    ref['masa.edited'] = edited.numpy()
    ref['masa.out'] = x.numpy()


def main():
    base, _ = safetensors_io.load(os.path.join(DIR, 'reference.safetensors'))
    ctx = torch.from_numpy(base['unet.encoder_hidden_states'][:1].astype(np.float32))
    with open(os.path.join(DIR, 'scheduler', 'scheduler_config.json')) as f:
        sched = DDIMScheduler(**{k: v for k, v in json.load(f).items() if not k.startswith('_')})
    unet = load_unet()
    ref = {}
    lora_reference(ref, unet, ctx, sched)
    drag_reference(ref, unet, ctx, sched)
    masa_reference(ref, unet, ctx, sched)
    safetensors_io.save(os.path.join(DIR, 'drag-reference.safetensors'), {k: np.asarray(v, np.float32) for k, v in ref.items()},
                        {'diffusers': 'v0.21.4', 'torch': torch.__version__})
    for k, v in ref.items():
        if not k.startswith('lora.') or k.endswith('loss'):
            print(f'{k:32s} {tuple(np.shape(v))}  max|x| {np.abs(v).max():.4g}')
    print('lora adapters', sum(1 for k in ref if k.endswith('.down.grad')))


if __name__ == '__main__':
    main()

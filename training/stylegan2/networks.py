"""StyleGAN2-ADA networks in plain PyTorch (fp32, no custom ops).

The generator is the reference the TypeScript engine is tested against, so it follows
docs/model-format.md (and stylegan2-ada-pytorch's networks.py) literally: same parameter names and shapes,
same equalised-learning-rate gains, same upfirdn2d padding and weight-flip conventions.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def fir_filter(device=None):
    """The [1,3,3,1] outer-product low-pass filter, normalised to sum 1 (StyleGAN2-ADA setup_filter)."""
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], device=device)
    f = torch.outer(f, f)
    return f / f.sum()


# Training switches to mathematically identical but faster resampling (ADA's own fast paths: transposed conv
# for up-convs, separable FIR). The default stays the reference formulation the engine is specified against.
FAST_RESAMPLE = False


def set_fast_resample(on):
    global FAST_RESAMPLE
    FAST_RESAMPLE = bool(on)


class _Fir1d(torch.autograd.Function):
    """y[k] = sum_i taps[i] * x[k + i] along `dim` ('valid'). Hand-written so the backward is one more FIR
    instead of autograd's zero-filled slice copies, which dominated the CPU profile; double-differentiable
    (R1 backpropagates through D's gradient)."""

    @staticmethod
    def forward(ctx, x, taps, dim):
        ctx.taps, ctx.dim, ctx.size = taps, dim, x.shape[dim]
        n = x.shape[dim] - len(taps) + 1
        y = x.narrow(dim, 0, n) * taps[0]
        for i in range(1, len(taps)):
            y.add_(x.narrow(dim, i, n), alpha=taps[i])
        return y

    @staticmethod
    def backward(ctx, gy):
        return _Fir1dT.apply(gy, ctx.taps, ctx.dim, ctx.size), None, None


class _Fir1dT(torch.autograd.Function):
    """Transpose of _Fir1d (scatter-add of the taps)."""

    @staticmethod
    def forward(ctx, gy, taps, dim, size):
        ctx.taps, ctx.dim = taps, dim
        shape = list(gy.shape)
        shape[dim] = size
        gx = gy.new_zeros(shape)
        for i, t in enumerate(taps):
            gx.narrow(dim, i, gy.shape[dim]).add_(gy, alpha=t)
        return gx

    @staticmethod
    def backward(ctx, ggx):
        return _Fir1d.apply(ggx, ctx.taps, ctx.dim), None, None, None


_TAPS_CACHE = {}


def _separable_taps(f, gain):
    """The 1-D taps of an outer-product filter as Python floats. Cached per filter buffer: reading a GPU tensor's
    values synchronises the host with the device, and upfirdn2d runs dozens of times per training step."""
    key = (id(f), f._version, f.device, gain)
    taps = _TAPS_CACHE.get(key)
    if taps is None:
        f1 = f.detach().sum(dim=1).flip(0) * math.sqrt(gain)  # row marginal = 1-D filter, flipped for true convolution
        taps = _TAPS_CACHE[key] = [float(t) for t in f1]
    return taps


def _fir_separable(x, f, gain):
    """2-D FIR as two 1-D passes; valid only for outer-product filters like fir_filter()."""
    taps = _separable_taps(f, gain)
    return _Fir1d.apply(_Fir1d.apply(x, taps, 2), taps, 3)


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Reference upfirdn2d: insert zeros, pad (x0, x1, y0, y1; negative crops), FIR filter, drop pixels.

    ADA flips the filter unless flip_filter=True, i.e. it applies a true convolution; we do the same so a
    non-symmetric filter would still match. `gain` scales the 2-D filter once (ADA: gain ** (ndim / 2)).
    """
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    px0, px1, py0, py1 = pad
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0):x.shape[2] - max(-py1, 0), max(-px0, 0):x.shape[3] - max(-px1, 0)]
    if FAST_RESAMPLE:
        x = _fir_separable(x, f, gain)  # taps are Python floats, so x keeps its dtype
    else:
        k = (f * gain).flip([0, 1]).to(x.dtype)
        # Depthwise filter: fold channels into the batch so one single-channel conv serves every channel.
        x = F.conv2d(x.reshape(b * c, 1, x.shape[2], x.shape[3]), k[None, None])
        x = x.reshape(b, c, x.shape[2], x.shape[3])
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x, f):
    """2x upsampling of the skip image: up 2, gain 4, padding (2, 1) on each axis."""
    return upfirdn2d(x, f, up=2, pad=(2, 1, 2, 1), gain=4.0)


def upconv3x3(x, weight, f):
    """conv0 of an up block: upfirdn2d(up 2, pad (3, 2), gain 4), then a 'valid' true convolution.

    Fast path: the zero-insert + flipped-kernel conv equals a stride-2 transposed conv (ADA's fast path),
    computed here sub-pixel style (4 output phases as one 2x2 conv + pixel_shuffle) because PyTorch's CPU
    conv_transpose2d is unoptimised. Its output is the transposed conv's 2h+1 rows plus one exact-zero row,
    so the FIR padding (1, 1) becomes (1, 0).
    """
    if FAST_RESAMPLE:
        o, i = weight.shape[:2]
        z = torch.zeros_like(weight[:, :, 0])
        rows = [torch.stack([weight[:, :, 2], weight[:, :, 0]], 2), torch.stack([z, weight[:, :, 1]], 2)]
        phases = []
        for r in rows:  # [o, i, 2, 3] for output row phase a
            zc = torch.zeros_like(r[..., 0])
            phases += [torch.stack([r[..., 2], r[..., 0]], 3), torch.stack([zc, r[..., 1]], 3)]
        wsub = torch.stack(phases, 1).reshape(o * 4, i, 2, 2)  # channel o*4 + a*2 + b
        x = F.pixel_shuffle(F.conv2d(F.pad(x, [1, 1, 1, 1]), wsub), 2)
        return upfirdn2d(x, f, pad=(1, 0, 1, 0), gain=4.0)
    x = upfirdn2d(x, f, up=2, pad=(3, 2, 3, 2), gain=4.0)
    return F.conv2d(x, weight.flip([2, 3]))  # ADA: flip_weight = (up == 1), so up-convs are true convs


def bias_act(x, b, lrelu, gain, clamp):
    """ADA bias_act for the two activations we use: add bias, act, scale, clamp."""
    if b is not None:
        x = x + b.reshape(1, -1, *([1] * (x.ndim - 2)))
    if lrelu:
        x = F.leaky_relu(x, 0.2)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


class FullyConnectedLayer(nn.Module):
    """Equalised-lr linear layer; weights are stored scaled by 1/lr_mul so Adam sees lr * lr_mul."""

    def __init__(self, in_features, out_features, bias_init=0.0, lr_mul=1.0, lrelu=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.bias_gain = lr_mul
        self.lrelu = lrelu

    def forward(self, x):
        x = torch.addmm(self.bias * self.bias_gain, x, (self.weight * self.weight_gain).t())
        return bias_act(x, None, self.lrelu, SQRT2 if self.lrelu else 1.0, None)


class MappingNetwork(nn.Module):
    def __init__(self, z_dim, w_dim, num_ws, num_layers, lr_mul=0.01, w_avg_beta=0.995):
        super().__init__()
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, num_layers, w_avg_beta
        for i in range(num_layers):
            setattr(self, f'fc{i}', FullyConnectedLayer(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul, lrelu=True))
        self.register_buffer('w_avg', torch.zeros(w_dim))

    def forward(self, z, psi=1.0, update_w_avg=True):
        """z [B, z_dim] -> ws [B, num_ws, w_dim] (broadcast, truncated towards w_avg by psi)."""
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(self.num_layers):
            x = getattr(self, f'fc{i}')(x)
        if self.training and update_w_avg:
            # Tracks the mean w for truncation; ADA updates it on every training forward pass.
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if psi != 1:
            x = self.w_avg.lerp(x, psi)
        return x.unsqueeze(1).repeat(1, self.num_ws, 1)


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv + demodulation + noise + bias/lrelu/clamp (ADA's non-fused modconv, same math)."""

    def __init__(self, in_ch, out_ch, w_dim, resolution, up=1, conv_clamp=None):
        super().__init__()
        self.up, self.resolution, self.conv_clamp = up, resolution, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.register_buffer('noise_const', torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.register_buffer('resample_filter', fir_filter(), persistent=False)

    def forward(self, x, w, noise_mode='random'):
        styles = self.affine(w)  # [B, in]
        # sum_{i,kh,kw} (weight * s_i)^2 per output channel, computed without materialising per-sample weights.
        dcoefs = (styles.square() @ self.weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # [B, out]
        x = x * styles[:, :, None, None]
        if self.up == 2:
            x = upconv3x3(x, self.weight, self.resample_filter)
        else:
            x = F.conv2d(x, self.weight, padding=1)
        x = x * dcoefs[:, :, None, None]
        if noise_mode == 'random':
            x = x + torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif noise_mode == 'const':
            x = x + self.noise_const * self.noise_strength
        return bias_act(x, self.bias, True, SQRT2, self.conv_clamp)


class ToRGBLayer(nn.Module):
    def __init__(self, in_ch, out_ch, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.weight_gain = 1.0 / math.sqrt(in_ch)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = F.conv2d(x * styles[:, :, None, None], self.weight)  # modulated, not demodulated
        return bias_act(x, self.bias, False, 1.0, self.conv_clamp)


class SynthesisBlock(nn.Module):
    def __init__(self, in_ch, out_ch, w_dim, resolution, img_channels, conv_clamp=None):
        super().__init__()
        self.in_ch, self.resolution = in_ch, resolution
        if in_ch == 0:
            self.const = nn.Parameter(torch.randn(out_ch, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_ch, out_ch, w_dim, resolution, up=2, conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_ch, out_ch, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_ch, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_ch == 0 else 2
        self.register_buffer('resample_filter', fir_filter(), persistent=False)

    def forward(self, x, img, ws, noise_mode='random'):
        """ws: [B, num_conv + 1, w_dim] (the block's slice; torgb's vector is shared with the next block)."""
        if self.in_ch == 0:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img


class SynthesisNetwork(nn.Module):
    def __init__(self, w_dim, img_resolution, channels, img_channels=3, conv_clamp=None):
        super().__init__()
        self.resolutions = [2 ** i for i in range(2, int(math.log2(img_resolution)) + 1)]
        self.num_ws = 2 * int(math.log2(img_resolution)) - 2
        for r in self.resolutions:
            in_ch = channels[r // 2] if r > 4 else 0
            setattr(self, f'b{r}', SynthesisBlock(in_ch, channels[r], w_dim, r, img_channels, conv_clamp))

    def forward(self, ws, noise_mode='random', return_features=False):
        """ws [B, num_ws, w_dim] -> img, or (img, {res: block features x}, {res: skip image so far})."""
        x = img = None
        feats, imgs = {}, {}
        w_idx = 0
        for r in self.resolutions:
            block = getattr(self, f'b{r}')
            x, img = block(x, img, ws[:, w_idx:w_idx + block.num_conv + 1], noise_mode)
            w_idx += block.num_conv
            if return_features:
                feats[r], imgs[r] = x, img
        return (img, feats, imgs) if return_features else img


class Generator(nn.Module):
    """Built from the model config dict of docs/model-format.md."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        channels = {int(k): int(v) for k, v in cfg['channels'].items()}
        self.z_dim, self.w_dim, self.img_resolution = cfg['z_dim'], cfg['w_dim'], cfg['img_resolution']
        self.synthesis = SynthesisNetwork(cfg['w_dim'], cfg['img_resolution'], channels,
                                          cfg.get('img_channels', 3), cfg.get('conv_clamp'))
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg['z_dim'], cfg['w_dim'], self.num_ws, cfg['mapping_layers'],
                                      cfg.get('mapping_lr_multiplier', 0.01))

    def forward(self, z, psi=1.0, noise_mode='random', return_features=False):
        return self.synthesis(self.mapping(z, psi), noise_mode, return_features)


# ----------------------------------------------------------------------------------------------- discriminator

class Conv2dLayer(nn.Module):
    """Equalised-lr conv with optional FIR-filtered 2x downsampling (ADA conv2d_resample fast paths)."""

    def __init__(self, in_ch, out_ch, kernel_size, bias=True, lrelu=False, down=1, conv_clamp=None):
        super().__init__()
        self.down, self.lrelu, self.conv_clamp, self.padding = down, lrelu, conv_clamp, kernel_size // 2
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_ch * kernel_size * kernel_size)
        self.register_buffer('resample_filter', fir_filter(), persistent=False)

    def forward(self, x, gain=1.0):
        w = self.weight * self.weight_gain
        p = self.padding
        if self.down == 1:
            x = F.conv2d(x, w, padding=p)
        elif w.shape[2] == 1:  # 1x1: filter + decimate first, then convolve
            x = upfirdn2d(x, self.resample_filter, down=2, pad=(p + 1,) * 4)
            x = F.conv2d(x, w)
        else:  # kxk: filter, then strided conv
            x = upfirdn2d(x, self.resample_filter, pad=(p + 1,) * 4)
            x = F.conv2d(x, w, stride=2)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.lrelu, (SQRT2 if self.lrelu else 1.0) * gain, clamp)


class DiscriminatorBlock(nn.Module):
    def __init__(self, in_ch, tmp_ch, out_ch, img_channels, conv_clamp=None):
        super().__init__()
        self.in_ch = in_ch
        if in_ch == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_ch, 1, lrelu=True, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_ch, tmp_ch, 3, lrelu=True, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_ch, out_ch, 3, lrelu=True, down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_ch, out_ch, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.in_ch == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))  # sqrt(0.5) on both branches keeps the residual sum unit-variance
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class MinibatchStdLayer(nn.Module):
    def __init__(self, group_size=4, num_channels=1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x):
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


class Discriminator(nn.Module):
    """ADA resnet discriminator: fromrgb at the top block, residual down blocks, mbstd + conv + fc epilogue."""

    def __init__(self, cfg, mbstd_group_size=4):
        super().__init__()
        ch = {int(k): int(v) for k, v in cfg['channels'].items()}
        self.resolutions = [2 ** i for i in range(int(math.log2(cfg['img_resolution'])), 2, -1)]
        clamp = cfg.get('conv_clamp')
        for r in self.resolutions:
            in_ch = ch[r] if r < cfg['img_resolution'] else 0
            setattr(self, f'b{r}', DiscriminatorBlock(in_ch, ch[r], ch[r // 2], cfg.get('img_channels', 3), clamp))
        self.b4 = DiscriminatorEpilogue(ch[4], clamp, mbstd_group_size)

    def forward(self, img):
        x = None
        for r in self.resolutions:
            x = getattr(self, f'b{r}')(x, img)
        return self.b4(x)


class DiscriminatorEpilogue(nn.Module):
    """Named b4 as in ADA so official D state dicts would load too."""

    def __init__(self, ch, conv_clamp, mbstd_group_size):
        super().__init__()
        self.mbstd = MinibatchStdLayer(mbstd_group_size, 1)
        self.conv = Conv2dLayer(ch + 1, ch, 3, lrelu=True, conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(ch * 16, ch, lrelu=True)
        self.out = FullyConnectedLayer(ch, 1)

    def forward(self, x):
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1)))

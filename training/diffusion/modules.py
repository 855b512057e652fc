"""Stable Diffusion 1.x's UNet2DConditionModel and AutoencoderKL, written here for training.

Module and parameter names and shapes are diffusers' (v0.21.4), so `state_dict()` is what a diffusers folder
holds and the engine's loader (engine/src/diffusion/folder.ts) reads it unchanged. Only the SD 1.x subset the
engine implements: CrossAttnDownBlock2D / DownBlock2D, a cross-attention mid block, CrossAttnUpBlock2D /
UpBlock2D, 1x1-conv transformer projections, GEGLU feed-forward, flip_sin_to_cos time embedding, epsilon
prediction; the VAE's DownEncoderBlock2D / UpDecoderBlock2D with one single-head attention in each mid block.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------- shared pieces
class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, groups, eps, temb=None):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        if temb is not None:
            self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.conv_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if hasattr(self, 'conv_shortcut') else x) + h


class Downsample2D(nn.Module):
    """Stride-2 3x3 conv. The VAE encoder's (padding 0) pads right and bottom by one first, as diffusers."""

    def __init__(self, c, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class Attention(nn.Module):
    """diffusers' Attention: to_q/to_k/to_v (bias only in the VAE), to_out.0; optional group norm + residual (VAE)."""

    def __init__(self, dim, heads, context_dim=None, bias=False, groups=None, eps=1e-6):
        super().__init__()
        self.heads = heads
        if groups is not None:
            self.group_norm = nn.GroupNorm(groups, dim, eps=eps)
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def attend(self, x, context=None):
        b, n, d = x.shape
        ctx = x if context is None else context
        hd = d // self.heads
        q = (self.to_q(x) * hd ** -0.5).view(b, n, self.heads, hd).transpose(1, 2)  # scaling q is cheaper than the scores
        k = self.to_k(ctx).view(b, ctx.shape[1], self.heads, hd).transpose(1, 2)
        v = self.to_v(ctx).view(b, ctx.shape[1], self.heads, hd).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.to_out[0]((w @ v).transpose(1, 2).reshape(b, n, d))

    def forward(self, x):
        """The VAE's spatial attention: [b, c, h, w] with group norm and residual."""
        b, c, h, w = x.shape
        t = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        return x + self.attend(t).transpose(1, 2).reshape(b, c, h, w)


# ---------------------------------------------------------------- UNet2DConditionModel
class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = x + self.attn1.attend(self.norm1(x))
        x = x + self.attn2.attend(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    def __init__(self, dim, heads, context_dim, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, dim, eps=1e-6)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, heads, context_dim)])
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            t = blk(t, context)
        return x + self.proj_out(t.reshape(b, h, w, c).permute(0, 3, 1, 2))


class DownBlock(nn.Module):
    def __init__(self, cin, cout, layers, temb, groups, eps, attention, heads, context_dim, downsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, groups, eps, temb) for i in range(layers))
        if attention:
            self.attentions = nn.ModuleList(Transformer2DModel(cout, heads, context_dim, groups) for _ in range(layers))
        if downsample:
            self.downsamplers = nn.ModuleList([Downsample2D(cout, 1)])

    def forward(self, x, temb, context):
        skips = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if hasattr(self, 'attentions'):
                x = self.attentions[i](x, context)
            skips.append(x)
        if hasattr(self, 'downsamplers'):
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock(nn.Module):
    def __init__(self, prev, cout, skip_in, layers, temb, groups, eps, attention, heads, context_dim, upsample):
        super().__init__()
        n = layers + 1
        self.resnets = nn.ModuleList(
            ResnetBlock2D((prev if i == 0 else cout) + (skip_in if i == n - 1 else cout), cout, groups, eps, temb) for i in range(n))
        if attention:
            self.attentions = nn.ModuleList(Transformer2DModel(cout, heads, context_dim, groups) for _ in range(n))
        if upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x, skips, temb, context):
        for i, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), temb)
            if hasattr(self, 'attentions'):
                x = self.attentions[i](x, context)
        if hasattr(self, 'upsamplers'):
            x = self.upsamplers[0](x)
        return x


class MidBlock(nn.Module):
    def __init__(self, c, temb, groups, eps, heads, context_dim):
        super().__init__()
        self.attentions = nn.ModuleList([Transformer2DModel(c, heads, context_dim, groups)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups, eps, temb), ResnetBlock2D(c, c, groups, eps, temb)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        return self.resnets[1](self.attentions[0](x, context), temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear_1 = nn.Linear(cin, cout)
        self.linear_2 = nn.Linear(cout, cout)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def timestep_features(t, dim):
    """diffusers' Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0): [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet2DConditionModel(nn.Module):
    def __init__(self, sample_size, block_out_channels, down_block_types, up_block_types, layers_per_block=1,
                 cross_attention_dim=64, attention_head_dim=4, norm_num_groups=16, in_channels=4, out_channels=4, norm_eps=1e-5):
        super().__init__()
        boc = list(block_out_channels)
        heads = attention_head_dim if isinstance(attention_head_dim, (list, tuple)) else [attention_head_dim] * len(boc)
        self.config = dict(
            _class_name='UNet2DConditionModel', _diffusers_version='0.21.4', sample_size=sample_size, in_channels=in_channels,
            out_channels=out_channels, center_input_sample=False, flip_sin_to_cos=True, freq_shift=0,
            down_block_types=list(down_block_types), mid_block_type='UNetMidBlock2DCrossAttn', up_block_types=list(up_block_types),
            only_cross_attention=False, block_out_channels=boc, layers_per_block=layers_per_block, downsample_padding=1,
            mid_block_scale_factor=1, act_fn='silu', norm_num_groups=norm_num_groups, norm_eps=norm_eps,
            cross_attention_dim=cross_attention_dim, transformer_layers_per_block=1, attention_head_dim=list(heads),
            dual_cross_attention=False, use_linear_projection=False, class_embed_type=None, num_class_embeds=None,
            upcast_attention=False, resnet_time_scale_shift='default', resnet_skip_time_act=False, resnet_out_scale_factor=1.0,
            time_embedding_type='positional', time_embedding_dim=None, time_embedding_act_fn=None, timestep_post_act=None,
            time_cond_proj_dim=None, conv_in_kernel=3, conv_out_kernel=3, projection_class_embeddings_input_dim=None,
            class_embeddings_concat=False, mid_block_only_cross_attention=None, cross_attention_norm=None,
            addition_embed_type=None, addition_time_embed_dim=None, num_attention_heads=None, encoder_hid_dim=None,
            encoder_hid_dim_type=None, addition_embed_type_num_heads=64)
        g, eps, temb = norm_num_groups, norm_eps, boc[0] * 4
        self.conv_in = nn.Conv2d(in_channels, boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        self.down_blocks = nn.ModuleList()
        for i, c in enumerate(boc):
            self.down_blocks.append(DownBlock(boc[max(i - 1, 0)], c, layers_per_block, temb, g, eps,
                                              down_block_types[i] == 'CrossAttnDownBlock2D', heads[i], cross_attention_dim, i < len(boc) - 1))
        self.mid_block = MidBlock(boc[-1], temb, g, eps, heads[-1], cross_attention_dim)
        rev, rheads = boc[::-1], heads[::-1]
        self.up_blocks = nn.ModuleList()
        for i, c in enumerate(rev):
            prev = rev[max(i - 1, 0)]
            skip_in = rev[min(i + 1, len(boc) - 1)]
            self.up_blocks.append(UpBlock(prev, c, skip_in, layers_per_block, temb, g, eps,
                                          up_block_types[i] == 'CrossAttnUpBlock2D', rheads[i], cross_attention_dim, i < len(boc) - 1))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], out_channels, 3, padding=1)

    def forward(self, x, t, context):
        temb = self.time_embedding(timestep_features(t, self.conv_in.out_channels))
        x = self.conv_in(x)
        skips = [x]
        for blk in self.down_blocks:
            x, s = blk(x, temb, context)
            skips.extend(s)
        x = self.mid_block(x, temb, context)
        for blk in self.up_blocks:
            n = len(blk.resnets)
            x = blk(x, skips[-n:], temb, context)
            del skips[-n:]
        return self.conv_out(F.silu(self.conv_norm_out(x)))


# ---------------------------------------------------------------- AutoencoderKL
class VAEMidBlock(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.attentions = nn.ModuleList([Attention(c, 1, bias=True, groups=groups)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups, 1e-6), ResnetBlock2D(c, c, groups, 1e-6)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class EncoderBlock(nn.Module):
    def __init__(self, cin, cout, layers, groups, downsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, groups, 1e-6) for i in range(layers))
        if downsample:
            self.downsamplers = nn.ModuleList([Downsample2D(cout, 0)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return self.downsamplers[0](x) if hasattr(self, 'downsamplers') else x


class DecoderBlock(nn.Module):
    def __init__(self, cin, cout, layers, groups, upsample):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, groups, 1e-6) for i in range(layers + 1))
        if upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return self.upsamplers[0](x) if hasattr(self, 'upsamplers') else x


class Encoder(nn.Module):
    def __init__(self, boc, layers, groups, latent):
        super().__init__()
        self.conv_in = nn.Conv2d(3, boc[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            EncoderBlock(boc[max(i - 1, 0)], c, layers, groups, i < len(boc) - 1) for i, c in enumerate(boc))
        self.mid_block = VAEMidBlock(boc[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, boc[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[-1], 2 * latent, 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, boc, layers, groups, latent):
        super().__init__()
        rev = boc[::-1]
        self.conv_in = nn.Conv2d(latent, rev[0], 3, padding=1)
        self.mid_block = VAEMidBlock(rev[0], groups)
        self.up_blocks = nn.ModuleList(
            DecoderBlock(rev[max(i - 1, 0)], c, layers, groups, i < len(boc) - 1) for i, c in enumerate(rev))
        self.conv_norm_out = nn.GroupNorm(groups, boc[0], eps=1e-6)
        self.conv_out = nn.Conv2d(boc[0], 3, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, block_out_channels, layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=128,
                 scaling_factor=0.18215):
        super().__init__()
        boc = list(block_out_channels)
        self.config = dict(
            _class_name='AutoencoderKL', _diffusers_version='0.21.4', in_channels=3, out_channels=3,
            down_block_types=['DownEncoderBlock2D'] * len(boc), up_block_types=['UpDecoderBlock2D'] * len(boc),
            block_out_channels=boc, layers_per_block=layers_per_block, act_fn='silu', latent_channels=latent_channels,
            norm_num_groups=norm_num_groups, sample_size=sample_size, scaling_factor=scaling_factor, force_upcast=True)
        self.encoder = Encoder(boc, layers_per_block, norm_num_groups, latent_channels)
        self.decoder = Decoder(boc, layers_per_block, norm_num_groups, latent_channels)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)

    def encode(self, x):
        """-> (mean, logvar) of the latent distribution (unscaled latents, as diffusers)."""
        mean, logvar = self.quant_conv(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))

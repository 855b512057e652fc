"""Landmark detector: a small encoder-decoder CNN predicting one 32x32 heatmap per landmark, read out by
soft-argmax (softmax over the 1024 positions, expected x and y).

Every op maps onto a tfjs op the wasm backend has, with identical semantics:
  conv 3x3 stride 1/2 with symmetric padding 1  -> tf.conv2d(x, w, s, [[0,0],[1,1],[1,1],[0,0]])
  conv 1x1                                       -> tf.conv2d(x, w, 1, 'valid')
  nearest 2x upsampling                          -> tf.image.resizeNearestNeighbor(x, [2h, 2w]) (a copy)
  add, relu, softmax, matMul                     -> the same
No batch norm (nothing to fold), no padding asymmetry.

Coordinates (output): image pixels with (0, 0) the centre of the top-left pixel (the engine's Point
convention). Heatmap cell (i, j) of the G x G map covers input pixels [s*j, s*j+s) with s = 128 / G, so its
centre lies at x = s*j + (s - 1) / 2 in that convention; the expectation over these centres is the output.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# (name, in, out, kernel, stride); the order is the forward order.
ENCODER = [
    ('enc1', 3, 16, 3, 2),     # 128 -> 64
    ('enc2', 16, 32, 3, 2),    # 64 -> 32
    ('enc3', 32, 64, 3, 2),    # 32 -> 16
    ('enc4', 64, 96, 3, 2),    # 16 -> 8
    ('enc5', 96, 128, 3, 2),   # 8 -> 4
    ('enc5b', 128, 128, 3, 1), # 4 (global context)
]
# Decoder: lat{r} = 1x1 projection of the coarser map, upsampled x2 and added to the skip at resolution r,
# then a 3x3 conv.
DECODER = [
    # name, coarse channels, skip channels (= out channels)
    ('dec8', 128, 96),
    ('dec16', 96, 64),
    ('dec32', 64, 32),
]
NUM_LANDMARKS = 17
INPUT_SIZE = 128
HEATMAP = 32


def param_shapes(num_landmarks=NUM_LANDMARKS):
    """{name: shape} in PyTorch layout ([out, in, kh, kw] for convs)."""
    shapes = {}
    for name, cin, cout, k, _ in ENCODER:
        shapes[f'{name}.weight'] = [cout, cin, k, k]
        shapes[f'{name}.bias'] = [cout]
    for name, cc, cs in DECODER:
        shapes[f'{name}.proj.weight'] = [cs, cc, 1, 1]
        shapes[f'{name}.proj.bias'] = [cs]
        shapes[f'{name}.conv.weight'] = [cs, cs, 3, 3]
        shapes[f'{name}.conv.bias'] = [cs]
    shapes['head.weight'] = [num_landmarks, DECODER[-1][2], 1, 1]
    shapes['head.bias'] = [num_landmarks]
    return shapes


class Decoder(nn.Module):
    def __init__(self, cc, cs):
        super().__init__()
        self.proj = nn.Conv2d(cc, cs, 1)
        self.conv = nn.Conv2d(cs, cs, 3, 1, 1)

    def forward(self, coarse, skip):
        up = F.interpolate(self.proj(coarse), scale_factor=2, mode='nearest')
        return F.relu(self.conv(F.relu(up + skip)))


class Detector(nn.Module):
    def __init__(self, num_landmarks=NUM_LANDMARKS):
        super().__init__()
        for name, cin, cout, k, s in ENCODER:
            setattr(self, name, nn.Conv2d(cin, cout, k, s, k // 2))
        for name, cc, cs in DECODER:
            setattr(self, name, Decoder(cc, cs))
        self.head = nn.Conv2d(DECODER[-1][2], num_landmarks, 1)
        self.num_landmarks = num_landmarks
        s = INPUT_SIZE / HEATMAP
        centres = torch.arange(HEATMAP, dtype=torch.float32) * s + (s - 1) / 2
        self.register_buffer('centres', centres, persistent=False)

    def heatmap_logits(self, x):
        """x: [N, 3, 128, 128] in [-1, 1] -> [N, L, 32, 32] logits."""
        feats = {}
        for name, *_ in ENCODER:
            x = F.relu(getattr(self, name)(x))
            feats[x.shape[-1]] = x
        for name, _, _ in DECODER:
            x = getattr(self, name)(x, feats[x.shape[-1] * 2])
        return self.head(x)

    def forward(self, x, return_logits=False):
        logits = self.heatmap_logits(x)
        n, l, h, w = logits.shape
        p = F.softmax(logits.reshape(n, l, h * w), dim=-1).reshape(n, l, h, w)
        xs = (p.sum(dim=2) * self.centres).sum(-1)
        ys = (p.sum(dim=3) * self.centres).sum(-1)
        out = torch.stack([xs, ys], dim=-1)  # [N, L, 2]
        return (out, logits) if return_logits else out


def count_params(model):
    return sum(p.numel() for p in model.parameters())

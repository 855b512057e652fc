"""Path-length regularisation (StyleGAN2, sec. 3.2; stylegan2-ada-pytorch's Gpl phase), kept apart from train.py
so the test can check it on a tiny generator.

The penalty asks that a fixed-size step in W moves the image by a fixed amount in every direction: for random
image-space directions y (scaled by 1/sqrt(H*W) so the length does not depend on resolution), the Jacobian-vector
norm |J_w^T y| should stay at its running mean a. DragGAN moves content by stepping w, so a W whose steps act
evenly is what lets the handles follow.
"""
import math

import torch

PL_INTERVAL = 4  # lazy: the penalty runs every 4th G step, scaled by 4 (as ADA's G_reg_interval)
PL_BATCH_SHRINK = 2  # on half the batch: the penalty is a smooth average, a smaller batch estimates it well enough
PL_DECAY = 0.01  # EMA rate of the target length a


def path_length_penalty(img, ws, pl_mean, decay=PL_DECAY):
    """img [B, C, H, W] generated from ws [B, num_ws, w_dim] (ws must require grad and be in img's graph).
    -> (penalty [B], lengths [B], new pl_mean (detached)). The penalty keeps its graph (create_graph) so its
    gradient reaches the synthesis weights. As the official loss, the target inside the penalty is the EMA
    updated with this batch, and its gradient through the batch mean is kept."""
    noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grads,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
    lengths = grads.square().sum(2).mean(1).sqrt()
    target = pl_mean.lerp(lengths.mean(), decay)
    return (lengths - target).square(), lengths, target.detach()

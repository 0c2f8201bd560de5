"""Deterministic sampling from a generator: same seed, same images."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def generate(g: nn.Module, n: int, seed: int, z_dim: int, batch_size: int = 500) -> torch.Tensor:
    """n images in [-1, 1] from latents drawn on the CPU with `seed` (device-independent)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    device = next(g.parameters()).device
    was_training = g.training
    g.eval()  # batch norm from running statistics: a sample must not depend on its batch-mates
    try:
        out = [g(z[i : i + batch_size].to(device)).cpu() for i in range(0, n, batch_size)]
    finally:
        g.train(was_training)
    return torch.cat(out).clamp_(-1, 1)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 0..255."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

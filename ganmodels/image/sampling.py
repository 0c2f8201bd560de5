"""Deterministic sampling from a generator: same seed (and labels), same images."""

from __future__ import annotations

import torch
from torch import nn


def balanced_labels(n: int, num_classes: int) -> torch.Tensor:
    """0, 1, ..., K-1, 0, 1, ...: every class equally often (the default for a conditional G)."""
    return torch.arange(n) % num_classes


@torch.no_grad()
def generate(
    g: nn.Module,
    n: int,
    seed: int,
    z_dim: int,
    batch_size: int = 500,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """n images in [-1, 1] from latents drawn on the CPU with `seed` (device-independent).

    A class-conditional G takes `labels` [n] (default: balanced over its classes); an
    unconditional one refuses them.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    num_classes = int(getattr(g, "num_classes", 0))
    if labels is None and num_classes:
        labels = balanced_labels(n, num_classes)
    if labels is not None:
        if not num_classes:
            raise ValueError("this generator is unconditional: it takes no labels")
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (n,) or labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"labels must be {n} class indices in [0, {num_classes})")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    device = next(g.parameters()).device
    was_training = g.training
    g.eval()  # batch norm from running statistics: a sample must not depend on its batch-mates
    try:
        out = []
        for i in range(0, n, batch_size):
            y = None if labels is None else labels[i : i + batch_size].to(device)
            out.append(g(z[i : i + batch_size].to(device), y).cpu())
    finally:
        g.train(was_training)
    return torch.cat(out).clamp_(-1, 1)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 0..255."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

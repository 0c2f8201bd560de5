"""DCGAN (Radford et al. 2015): transposed convs with batch norm in G, a conv classifier D."""

from __future__ import annotations

import math

import torch
from torch import nn


def _num_upsamples(image_size: int) -> int:
    # Both networks work on a 4x4 grid at their lowest resolution.
    n = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (n + 2) != image_size:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return n


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> image [N, C, S, S] in [-1, 1]."""

    def __init__(self, z_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        n = _num_upsamples(image_size)
        self.z_dim = z_dim
        ch = width * 2**n
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
        ]
        for _ in range(n):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(inplace=True),
            ]
            ch //= 2
        # A 3x3 conv at full resolution smooths the checkerboard of the last transposed conv.
        layers += [nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent vectors to images."""
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image [N, C, S, S] -> logit [N] of P(real | x)."""

    def __init__(self, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        n = _num_upsamples(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch * 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one real/fake logit per image."""
        return self.head(self.features(x).flatten(1)).squeeze(1)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convs, N(1, 0.02) for batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)

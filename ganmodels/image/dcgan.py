"""DCGAN (Radford et al. 2015): transposed convs with batch norm in G, a conv classifier D.

Class-conditional form: conditional batch norm in G, a projection head in D.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganmodels.image.layers import Norm2d, ProjectionHead, add_spectral_norm, check_labels


def num_upsamples(image_size: int) -> int:
    """Doublings from the 4x4 base grid to image_size (a power of two >= 8)."""
    n = int(math.log2(image_size)) - 2 if image_size >= 8 else -1
    if n < 1 or 2 ** (n + 2) != image_size:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return n


class DCGANGenerator(nn.Module):
    """z [N, z_dim] (+ labels [N]) -> image [N, C, S, S] in [-1, 1]."""

    def __init__(
        self, z_dim: int, channels: int, image_size: int, width: int, num_classes: int = 0
    ) -> None:
        super().__init__()
        n = num_upsamples(image_size)
        self.z_dim, self.num_classes = z_dim, num_classes
        ch = width * 2**n
        self.convs = nn.ModuleList([nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False)])
        self.norms = nn.ModuleList([Norm2d(ch, num_classes)])
        for _ in range(n):
            self.convs.append(nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False))
            self.norms.append(Norm2d(ch // 2, num_classes))
            ch //= 2
        # A 3x3 conv at full resolution smooths the checkerboard of the last transposed conv.
        self.out = nn.Conv2d(ch, channels, 3, 1, 1)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Map latent vectors (and labels) to images."""
        check_labels(y, self.num_classes)
        h = z.view(z.shape[0], self.z_dim, 1, 1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h), y))
        return torch.tanh(self.out(h))


class DCGANDiscriminator(nn.Module):
    """image [N, C, S, S] (+ labels [N]) -> logit [N] of P(real | x)."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        width: int,
        num_classes: int = 0,
        spectral: bool = False,
    ) -> None:
        super().__init__()
        n = num_upsamples(image_size)
        self.num_classes = num_classes
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n):
            layers.append(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=spectral))
            # Spectral norm replaces batch norm (SNGAN's "standard CNN" D has none).
            if not spectral:
                layers.append(nn.BatchNorm2d(ch * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.head = ProjectionHead(ch * 16, num_classes)
        self.apply(init_weights)
        if spectral:
            add_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Return one real/fake logit per image."""
        check_labels(y, self.num_classes)
        return self.head(self.features(x).flatten(1), y)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convs, linears and embeddings, N(1, 0.02) for BN."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, Norm2d) and module.num_classes:
        # apply() visits children first: this resets the class gains the line above zeroed.
        nn.init.normal_(module.gain.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias.weight)

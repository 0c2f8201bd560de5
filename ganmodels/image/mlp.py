"""MLP generator and discriminator for vectors (an image is flattened to C*H*W values).

Conditional form: a learned label embedding concatenated to z in G, a projection head in D.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganmodels.image.layers import ProjectionHead, add_spectral_norm, check_labels, init_xavier

DEPTH = 3  # hidden layers in each network


class MLPGenerator(nn.Module):
    """z [N, z_dim] (+ labels [N]) -> values [N, *shape] in [-1, 1]."""

    def __init__(
        self, z_dim: int, shape: tuple[int, ...], width: int, num_classes: int = 0
    ) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.shape = z_dim, num_classes, tuple(shape)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        layers: list[nn.Module] = []
        dim = z_dim * (2 if num_classes else 1)
        for _ in range(DEPTH):
            layers += [nn.Linear(dim, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            dim = width
        layers.append(nn.Linear(dim, math.prod(self.shape)))
        self.net = nn.Sequential(*layers)
        self.apply(init_xavier)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Map latent vectors (and labels) to samples of `shape`."""
        check_labels(y, self.num_classes)
        h = z if self.embed is None else torch.cat([z, self.embed(y)], dim=1)
        return torch.tanh(self.net(h)).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """values [N, *shape] (+ labels [N]) -> logit [N]."""

    def __init__(
        self, shape: tuple[int, ...], width: int, num_classes: int = 0, spectral: bool = False
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        layers: list[nn.Module] = [nn.Flatten()]
        dim = math.prod(shape)
        for _ in range(DEPTH):
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2, inplace=True)]
            dim = width
        self.features = nn.Sequential(*layers)
        self.head = ProjectionHead(width, num_classes)
        self.apply(init_xavier)
        if spectral:
            add_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Return one real/fake logit per sample."""
        check_labels(y, self.num_classes)
        return self.head(self.features(x), y)

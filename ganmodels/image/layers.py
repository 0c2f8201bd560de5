"""Shared building blocks: (conditional) batch norm, projection head, spectral normalisation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class Norm2d(nn.Module):
    """Batch norm whose scale and shift come from the class label when num_classes > 0.

    Conditional batch norm (de Vries et al. 2017, as in SNGAN/BigGAN generators): the shared
    statistics are normalised without affine terms, then each class gets its own gain and bias.
    """

    def __init__(self, channels: int, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(channels, affine=num_classes == 0)
        if num_classes:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Normalise x; condition on labels y [N] when the layer is conditional."""
        out = self.bn(x)
        if not self.num_classes:
            return out
        if y is None:
            raise ValueError("a conditional model needs class labels")
        return out * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class ProjectionHead(nn.Module):
    """logit = w . h + b (+ <embed(y), h> for a projection discriminator, Miyato & Koyama 2018)."""

    def __init__(self, features: int, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per row of features h [N, F]."""
        out = self.linear(h).squeeze(1)
        if self.embed is None:
            return out
        if y is None:
            raise ValueError("a conditional model needs class labels")
        return out + (self.embed(y) * h).sum(1)


def check_labels(y: torch.Tensor | None, num_classes: int) -> None:
    """Labels are given exactly when the model is conditional."""
    if num_classes and y is None:
        raise ValueError(f"this model is class-conditional ({num_classes} classes): pass labels")
    if not num_classes and y is not None:
        raise ValueError("this model is unconditional: it takes no labels")


def add_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv, linear and embedding weight."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            spectral_norm(m)
    return module


def init_xavier(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for convs and linears (SNGAN's initialisation)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)

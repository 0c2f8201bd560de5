"""ResNet generator and discriminator in the SNGAN/BigGAN style (Miyato et al. 2018).

G: linear z -> 4x4 grid, up-sampling residual blocks with (conditional) batch norm.
D: down-sampling residual blocks, ReLU, global sum pooling, linear (+ projection) head.
Both keep one width at every resolution, as SNGAN's CIFAR networks do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganmodels.image.dcgan import num_upsamples
from ganmodels.image.layers import Norm2d, ProjectionHead, add_spectral_norm, check_labels


def _init(module: nn.Module) -> None:
    """Xavier-uniform: gain sqrt(2) for the 3x3 convs inside blocks (they feed a ReLU), 1 for
    shortcuts, stems and heads, as SNGAN; conditional-BN gains keep their own init (ones)."""
    for m in module.modules():
        if isinstance(m, (GBlock, DBlock)):
            for conv in (m.conv1, m.conv2):
                nn.init.xavier_uniform_(conv.weight, math.sqrt(2))
                nn.init.zeros_(conv.bias)
            if m.shortcut is not None:
                nn.init.xavier_uniform_(m.shortcut.weight)
                nn.init.zeros_(m.shortcut.bias)
        elif isinstance(m, ProjectionHead):
            nn.init.xavier_uniform_(m.linear.weight)
            nn.init.zeros_(m.linear.bias)
            if m.embed is not None:
                nn.init.xavier_uniform_(m.embed.weight)


class GBlock(nn.Module):
    """BN-ReLU-up-conv-BN-ReLU-conv with an up-sampled 1x1 shortcut."""

    def __init__(self, ch_in: int, ch_out: int, num_classes: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = Norm2d(ch_in, num_classes), Norm2d(ch_out, num_classes)
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(ch_in, ch_out, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Double the resolution."""
        h = F.interpolate(F.relu(self.norm1(x, y)), scale_factor=2.0)
        h = self.conv2(F.relu(self.norm2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0))


class DBlock(nn.Module):
    """(ReLU)-conv-ReLU-conv(-avgpool) with a 1x1 (pooled) shortcut; the first block skips the
    leading ReLU so the raw image is not clipped."""

    def __init__(self, ch_in: int, ch_out: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(ch_in, ch_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(ch_out, ch_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(ch_in, ch_out, 1) if (down or ch_in != ch_out) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual features, halved in resolution when down."""
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.shortcut is not None:
            if self.first:  # pool after the 1x1 conv on the image, as SNGAN's optimized block
                s = self.shortcut(F.avg_pool2d(s, 2))
            else:
                s = self.shortcut(s)
                s = F.avg_pool2d(s, 2) if self.down else s
        return h + s


class ResNetGenerator(nn.Module):
    """z [N, z_dim] (+ labels [N]) -> image [N, C, S, S] in [-1, 1]."""

    def __init__(
        self, z_dim: int, channels: int, image_size: int, width: int, num_classes: int = 0
    ) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.width = z_dim, num_classes, width
        self.linear = nn.Linear(z_dim, 16 * width)
        self.blocks = nn.ModuleList(
            [GBlock(width, width, num_classes) for _ in range(num_upsamples(image_size))]
        )
        self.norm = nn.BatchNorm2d(width)
        self.out = nn.Conv2d(width, channels, 3, 1, 1)
        for m in (self.linear, self.out):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        _init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Map latent vectors (and labels) to images."""
        check_labels(y, self.num_classes)
        h = self.linear(z).view(z.shape[0], self.width, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out(F.relu(self.norm(h))))


class ResNetDiscriminator(nn.Module):
    """image [N, C, S, S] (+ labels [N]) -> logit [N]."""

    def __init__(
        self,
        channels: int,
        image_size: int,
        width: int,
        num_classes: int = 0,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        n = num_upsamples(image_size)
        self.num_classes = num_classes
        blocks = [DBlock(channels, width, down=True, first=True)]
        blocks += [DBlock(width, width, down=True) for _ in range(n - 1)]
        blocks.append(DBlock(width, width, down=False))  # SNGAN ends on a full-width 4x4 block
        self.blocks = nn.Sequential(*blocks)
        self.head = ProjectionHead(width, num_classes)
        _init(self)
        if spectral:
            add_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Return one real/fake logit per image (global sum pooling, then the head)."""
        check_labels(y, self.num_classes)
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.head(h, y)

"""Image G and D from a plain model config: DCGAN, ResNet or MLP (with the data's shape)."""

from __future__ import annotations

from typing import Any

from torch import nn

from ganmodels.image.dcgan import DCGANDiscriminator, DCGANGenerator
from ganmodels.image.mlp import MLPDiscriminator, MLPGenerator
from ganmodels.image.resnet import ResNetDiscriminator, ResNetGenerator

ARCHITECTURES = ("dcgan", "resnet", "mlp")
# Keys every image model config carries, beside the optional num_classes (0 = unconditional)
# and spectral_norm (of D).
REQUIRED_KEYS = ("architecture", "z_dim", "channels", "image_size", "g_channels", "d_channels")


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """Generator for an image model config, initialised as its paper does."""
    k = int(cfg.get("num_classes", 0))
    z, c, s, w = cfg["z_dim"], cfg["channels"], cfg["image_size"], cfg["g_channels"]
    if cfg["architecture"] == "dcgan":
        return DCGANGenerator(z, c, s, w, k)
    if cfg["architecture"] == "resnet":
        return ResNetGenerator(z, c, s, w, k)
    return MLPGenerator(z, (c, s, s), w, k)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for an image model config, initialised as its paper does."""
    k = int(cfg.get("num_classes", 0))
    c, s, w, sn = cfg["channels"], cfg["image_size"], cfg["d_channels"], cfg.get("spectral_norm")
    if cfg["architecture"] == "dcgan":
        return DCGANDiscriminator(c, s, w, k, bool(sn))
    if cfg["architecture"] == "resnet":
        return ResNetDiscriminator(c, s, w, k, bool(sn))
    return MLPDiscriminator((c, s, s), w, k, bool(sn))

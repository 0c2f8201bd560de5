"""Build networks from a plain model-config dict (what checkpoints carry)."""

from __future__ import annotations

from typing import Any

from torch import nn

from ganmodels.dcgan import DCGANDiscriminator, DCGANGenerator
from ganmodels.mlp import MLPDiscriminator, MLPGenerator
from ganmodels.resnet import ResNetDiscriminator, ResNetGenerator
from ganmodels.tabular_nets import PacDiscriminator, TabularGenerator

IMAGE_ARCHITECTURES = ("dcgan", "resnet", "mlp")
ARCHITECTURES = (*IMAGE_ARCHITECTURES, "ctgan")
# Keys every model config carries, beside the optional num_classes (0 = unconditional) and
# spectral_norm (of D). Tables (ctgan) carry the encoded row's spans instead of an image shape.
REQUIRED_KEYS = ("architecture", "z_dim", "channels", "image_size", "g_channels", "d_channels")
TABLE_KEYS = ("architecture", "z_dim", "g_channels", "d_channels", "spans", "cond_dim", "pac")


def _check(cfg: dict[str, Any]) -> tuple[str, int]:
    keys = TABLE_KEYS if cfg.get("architecture") == "ctgan" else REQUIRED_KEYS
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise ValueError(f"model config lacks {missing}")
    if cfg["architecture"] not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg['architecture']!r} (known: {ARCHITECTURES})")
    return cfg["architecture"], int(cfg.get("num_classes", 0))


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """Generator for a model config, initialised as its paper does."""
    arch, k = _check(cfg)
    if arch == "ctgan":
        spans = [(a, int(w)) for a, w in cfg["spans"]]
        width = cfg["g_channels"]
        return TabularGenerator(cfg["z_dim"], spans, cfg["cond_dim"], (width, width))
    z, c, s, w = cfg["z_dim"], cfg["channels"], cfg["image_size"], cfg["g_channels"]
    if arch == "dcgan":
        return DCGANGenerator(z, c, s, w, k)
    if arch == "resnet":
        return ResNetGenerator(z, c, s, w, k)
    return MLPGenerator(z, (c, s, s), w, k)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for a model config, initialised as its paper does."""
    arch, k = _check(cfg)
    if arch == "ctgan":
        row_dim = sum(int(w) for _, w in cfg["spans"])
        width = cfg["d_channels"]
        return PacDiscriminator(row_dim, cfg["cond_dim"], cfg["pac"], (width, width))
    c, s, w, sn = cfg["channels"], cfg["image_size"], cfg["d_channels"], cfg.get("spectral_norm")
    if arch == "dcgan":
        return DCGANDiscriminator(c, s, w, k, bool(sn))
    if arch == "resnet":
        return ResNetDiscriminator(c, s, w, k, bool(sn))
    return MLPDiscriminator((c, s, s), w, k, bool(sn))


def generator_from_state(state: dict[str, Any]) -> nn.Module:
    """Rebuild an exported generator ({'model_config', 'state_dict'}) in eval mode."""
    if "model_config" not in state or "state_dict" not in state:
        raise ValueError("not a generator export: needs 'model_config' and 'state_dict'")
    g = build_generator(state["model_config"])
    g.load_state_dict(state["state_dict"])
    return g.eval()

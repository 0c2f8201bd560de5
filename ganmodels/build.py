"""Build networks from a plain model-config dict (what checkpoints carry)."""

from __future__ import annotations

from typing import Any

from torch import nn

from ganmodels.dcgan import DCGANDiscriminator, DCGANGenerator, init_weights

# Keys every model config carries, beside the architecture's own sizes.
REQUIRED_KEYS = ("architecture", "z_dim", "channels", "image_size", "g_channels", "d_channels")


def _check(cfg: dict[str, Any]) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in cfg]
    if missing:
        raise ValueError(f"model config lacks {missing}")
    if cfg["architecture"] != "dcgan":
        raise ValueError(f"unknown architecture {cfg['architecture']!r} (known: dcgan)")


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """Generator for a model config, DCGAN-initialised."""
    _check(cfg)
    g = DCGANGenerator(cfg["z_dim"], cfg["channels"], cfg["image_size"], cfg["g_channels"])
    g.apply(init_weights)
    return g


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for a model config, DCGAN-initialised."""
    _check(cfg)
    d = DCGANDiscriminator(cfg["channels"], cfg["image_size"], cfg["d_channels"])
    d.apply(init_weights)
    return d


def generator_from_state(state: dict[str, Any]) -> nn.Module:
    """Rebuild an exported generator ({'model_config', 'state_dict'}) in eval mode."""
    if "model_config" not in state or "state_dict" not in state:
        raise ValueError("not a generator export: needs 'model_config' and 'state_dict'")
    g = build_generator(state["model_config"])
    g.load_state_dict(state["state_dict"])
    return g.eval()

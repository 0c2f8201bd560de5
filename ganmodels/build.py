"""Build networks from a plain model-config dict (what checkpoints carry).

The model side's one dispatch on the data kind: a config's "kind" picks the folder whose
`nets` module builds its networks.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from torch import nn

from ganmodels.image import nets as image_nets
from ganmodels.sequence import nets as sequence_nets
from ganmodels.tabular import nets as tabular_nets

NETS: dict[str, ModuleType] = {
    "image": image_nets,
    "tabular": tabular_nets,
    "sequence": sequence_nets,
}


def kind_nets(cfg: dict[str, Any]) -> ModuleType:
    """The `nets` module of the config's kind, once its keys are checked."""
    kind = cfg.get("kind")
    if kind is None:
        raise ValueError(
            "model config has no data kind (exported before kinds were recorded): retrain it"
        )
    if kind not in NETS:
        raise ValueError(f"model config has kind {kind!r}; known kinds: {sorted(NETS)}")
    nets = NETS[kind]
    missing = [k for k in nets.REQUIRED_KEYS if k not in cfg]
    if missing:
        raise ValueError(f"model config lacks {missing}")
    if cfg["architecture"] not in nets.ARCHITECTURES:
        raise ValueError(
            f"unknown {kind} architecture {cfg['architecture']!r} (known: {nets.ARCHITECTURES})"
        )
    return nets


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """Generator for a model config, initialised as its paper does."""
    return kind_nets(cfg).build_generator(cfg)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for a model config, initialised as its paper does."""
    return kind_nets(cfg).build_discriminator(cfg)


def generator_from_state(state: dict[str, Any]) -> nn.Module:
    """Rebuild an exported generator ({'model_config', 'state_dict'}) in eval mode."""
    if "model_config" not in state or "state_dict" not in state:
        raise ValueError("not a generator export: needs 'model_config' and 'state_dict'")
    g = build_generator(state["model_config"])
    g.load_state_dict(state["state_dict"])
    return g.eval()

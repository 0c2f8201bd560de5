"""Sampling whole sequences in the data's own units: [N, T, C] float32, NaN after each
sequence's end."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ganmodels.build import generator_from_state
from ganmodels.image.sampling import generate
from ganmodels.sequence.scaling import Scaling
from ganmodels.sequence.statics import snap


class SequenceSampler:
    """An exported generator that samples sequences in data units, deterministic for a seed."""

    def __init__(self, g: nn.Module, config: dict[str, Any]) -> None:
        self.g, self.config = g, config
        self.scaling = Scaling.from_dict(config["scaling"])
        self.num_classes = int(config.get("num_classes", 0))
        shares = np.asarray(config.get("class_shares") or [1.0], np.float64)
        self.class_shares = shares / shares.sum()  # stored rounded: renormalised

    def labels(self, n: int, seed: int, label: int | None) -> torch.Tensor | None:
        """All `label`, or labels at the train split's class shares (a conditional G only)."""
        if label is not None:
            if not self.num_classes:
                raise ValueError("this model is unconditional: it takes no 'label'")
            if not 0 <= label < self.num_classes:
                raise ValueError(f"label must be in 0..{self.num_classes - 1}, got {label}")
            return torch.full((n,), label, dtype=torch.long)
        if not self.num_classes:
            return None
        rng = np.random.default_rng([seed, 7])  # apart from the latents' stream
        return torch.from_numpy(rng.choice(self.num_classes, size=n, p=self.class_shares))

    def sample_labelled(
        self, n: int, seed: int, label: int | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """n sequences [n, T, C] float32 in data units (NaN after each one's end) and the
        labels they were asked for (None: unconditional)."""
        y = self.labels(n, seed, label)
        model = generate(self.g, n, seed, int(self.g.z_dim), labels=y).numpy()
        values = snap(self.scaling.to_data(model), self.config.get("statics") or [])
        return values, None if y is None else y.numpy()

    def sample(self, n: int, seed: int, label: int | None = None) -> np.ndarray:
        """n sequences in data units (see sample_labelled)."""
        return self.sample_labelled(n, seed, label)[0]


def sampler_from_state(state: dict[str, Any]) -> SequenceSampler:
    """The sampler of an exported generator ({'model_config', 'state_dict'})."""
    return SequenceSampler(generator_from_state(state), state["model_config"])

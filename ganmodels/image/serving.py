"""What an image model's pyfunc takes and returns: {n, seed[, label]} -> float32 [n, C, H, W]
in [0, 1], identical for the same seed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ganmodels.build import generator_from_state
from ganmodels.image.sampling import generate


class ImageServing:
    """Samples images from an exported EMA generator."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.g = generator_from_state(state)
        self.z_dim = int(state["model_config"]["z_dim"])
        self.num_classes = int(state["model_config"].get("num_classes", 0))

    def predict(self, model_input: pd.DataFrame, n: int, seed: int) -> np.ndarray:
        """n images; all of class `label` when the input has one (a conditional model only)."""
        labels = None
        if "label" in model_input.columns and not pd.isna(model_input["label"].iloc[0]):
            label = int(model_input["label"].iloc[0])
            if not self.num_classes:
                raise ValueError("this model is unconditional: it takes no 'label'")
            if not 0 <= label < self.num_classes:
                raise ValueError(f"label must be in 0..{self.num_classes - 1}, got {label}")
            labels = torch.full((n,), label, dtype=torch.long)
        images = generate(self.g, n, seed, self.z_dim, labels=labels)
        return ((images + 1) / 2).clamp_(0, 1).numpy().astype(np.float32)

"""MLflow pyfunc for a generator, logged as "models from code": no pickle in the model.

This file is copied into the model; it may import only ganmodels (shipped via code_paths),
torch, numpy, pandas and mlflow.
Contract: predict(pd.DataFrame({"n": [64], "seed": [0]})) -> float32 [n, C, H, W] in [0, 1],
identical for the same seed. A class-conditional model also takes an optional "label" column
(all n samples of that class; without it they cycle through the classes).
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.pyfunc import PythonModel

MAX_SAMPLES = 100_000


class GeneratorModel(PythonModel):
    """Samples images from the exported EMA generator."""

    def load_context(self, context: Any) -> None:
        """Rebuild G from the state dict with ganmodels (weights_only: no code from the file)."""
        from ganmodels import generator_from_state
        from ganmodels.safeload import load_state

        state = load_state(context.artifacts["generator"], "generator artifact")
        self.g = generator_from_state(state)
        self.z_dim = int(state["model_config"]["z_dim"])
        self.num_classes = int(state["model_config"].get("num_classes", 0))

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> np.ndarray:
        """One row {n, seed[, label]} -> n images as float32 [n, C, H, W] in [0, 1]."""
        from ganmodels import generate

        if not isinstance(model_input, pd.DataFrame) or len(model_input) != 1:
            raise ValueError("expected a one-row DataFrame with columns 'n' and 'seed'")
        missing = {"n", "seed"} - set(model_input.columns)
        if missing:
            raise ValueError(f"input lacks column(s) {sorted(missing)}")
        n, seed = int(model_input["n"].iloc[0]), int(model_input["seed"].iloc[0])
        if not 1 <= n <= MAX_SAMPLES:
            raise ValueError(f"n must be in 1..{MAX_SAMPLES}, got {n}")
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


mlflow.models.set_model(GeneratorModel())

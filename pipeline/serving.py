"""MLflow pyfunc for a generator, logged as "models from code": no pickle in the model.

This file is copied into the model; it may import only ganmodels (shipped via code_paths),
torch, numpy, pandas and mlflow.
Contract: predict(pd.DataFrame({"n": [64], "seed": [0]})) -> float32 [n, C, H, W] in [0, 1],
identical for the same seed. A class-conditional model also takes an optional "label" column
(all n samples of that class; without it they cycle through the classes).
A table model returns a DataFrame of n rows with the original column names, dtypes and
categories; the optional "condition_column" and "condition_value" (the level as text) make
every row have that value.
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
        self.table = None
        if "transformer" in state["model_config"]:
            from ganmodels.table_sampling import table_sampler_from_state

            self.table = table_sampler_from_state(state)
        self.g = generator_from_state(state)
        self.z_dim = int(state["model_config"]["z_dim"])
        self.num_classes = int(state["model_config"].get("num_classes", 0))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: Any = None
    ) -> np.ndarray | pd.DataFrame:
        """One row {n, seed[, label]} -> n images as float32 [n, C, H, W] in [0, 1]; for a
        table, {n, seed[, condition_column, condition_value]} -> a DataFrame of n rows."""
        from ganmodels import generate

        if not isinstance(model_input, pd.DataFrame) or len(model_input) != 1:
            raise ValueError("expected a one-row DataFrame with columns 'n' and 'seed'")
        missing = {"n", "seed"} - set(model_input.columns)
        if missing:
            raise ValueError(f"input lacks column(s) {sorted(missing)}")
        n, seed = int(model_input["n"].iloc[0]), int(model_input["seed"].iloc[0])
        if not 1 <= n <= MAX_SAMPLES:
            raise ValueError(f"n must be in 1..{MAX_SAMPLES}, got {n}")
        if self.table is not None:
            return self._rows(model_input, n, seed)
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

    def _rows(self, model_input: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
        """n table rows; all with condition_column == condition_value when both are given."""

        def given(name: str) -> Any:
            if name not in model_input.columns:
                return None
            value = model_input[name].iloc[0]
            return None if pd.isna(value) else value

        if "label" in model_input.columns and given("label") is not None:
            raise ValueError("a table model takes condition_column/condition_value, not 'label'")
        column, value = given("condition_column"), given("condition_value")
        if (column is None) != (value is None):
            raise ValueError("give both condition_column and condition_value, or neither")
        return self.table.sample(n, seed, None if column is None else str(column), value)


mlflow.models.set_model(GeneratorModel())

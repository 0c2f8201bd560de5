"""MLflow pyfunc for a generator, logged as "models from code": no pickle in the model.

This file is copied into the model; it may import only ganmodels (shipped via code_paths),
torch, numpy, pandas and mlflow. Contract: predict(pd.DataFrame({"n": [64], "seed": [0]})),
the same samples for the same seed; what comes back is the kind's (ganmodels/serving.py):
images as float32 [n, C, H, W] in [0, 1] (optional "label" for a class-conditional model), or
a table's rows as a DataFrame (optional "condition_column" and "condition_value").
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel


class GeneratorModel(PythonModel):
    """Samples from the exported EMA generator, whatever its kind."""

    def load_context(self, context: Any) -> None:
        """Rebuild G from the state dict with ganmodels (weights_only: no code from the file)."""
        from ganmodels.safeload import load_state
        from ganmodels.serving import load_serving

        self.serving = load_serving(
            load_state(context.artifacts["generator"], "generator artifact")
        )

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        """One row {n, seed, ...} -> n samples (see the module's contract)."""
        from ganmodels.serving import request

        frame, n, seed = request(model_input)
        return self.serving.predict(frame, n, seed)


mlflow.models.set_model(GeneratorModel())

"""The table pyfunc's signature (for register) and what `gan sample` writes from its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

SUFFIXES = (".parquet", ".pq", ".csv")


def signature(generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
    """{n, seed[, condition_column, condition_value]} -> the table's columns, and an example."""
    # Here, not at the top: `gan sample` imports this module after loading a model, whose own
    # shipped ganmodels must stay the one imported.
    from ganmodels.tabular.sampling import table_sampler_from_state

    cols = [
        ColSpec("long", "n"),
        ColSpec("long", "seed"),
        ColSpec("string", "condition_column", required=False),
        ColSpec("string", "condition_value", required=False),
    ]
    rows = table_sampler_from_state(generator).sample(2, 0)
    outputs = infer_signature(model_output=rows).outputs
    return ModelSignature(inputs=Schema(cols), outputs=outputs), {"n": [2], "seed": [0]}


def check_out(out: Path) -> None:
    """A table model writes one .parquet or .csv file."""
    if out.suffix not in SUFFIXES:
        raise ValueError(f"--out {out}: a table model writes a .parquet or .csv file")


def write_samples(rows: pd.DataFrame, out: Path) -> str:
    """Write table rows as Parquet (types kept) or CSV, by the file's suffix; returns where."""
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        rows.to_csv(out, index=False)
    else:
        rows.to_parquet(out, index=False)
    return str(out)

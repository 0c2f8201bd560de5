"""The sequence pyfunc's signature (for register) and what `gan sample` writes from its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec

TABLES = (".parquet", ".pq", ".csv")


def signature(generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
    """{n, seed[, label][, format]} -> float32 [n, T, C], and an input example."""
    config = generator["model_config"]
    # Optional columns are declared for every model: MLflow drops undeclared ones silently,
    # and an unconditional model must refuse a label rather than ignore it.
    cols = [
        ColSpec("long", "n"),
        ColSpec("long", "seed"),
        ColSpec("long", "label", required=False),
        ColSpec("string", "format", required=False),
    ]
    # The array holds the series alone (static columns come in the long format). Counted here,
    # not by ganmodels: `gan sample` must import the registered model's own ganmodels first.
    statics = sum(len(s["channels"]) for s in config.get("statics") or [])
    shape = (-1, config["seq_len"], len(config["channels"]) - statics)
    outputs = Schema([TensorSpec(np.dtype(np.float32), shape)])
    conditional = int(config.get("num_classes", 0)) > 0
    example = {"n": [2], "seed": [0], **({"label": [0]} if conditional else {})}
    return ModelSignature(inputs=Schema(cols), outputs=outputs), example


def check_out(out: Path) -> None:
    """A .npy array or a long-format .parquet/.csv table."""
    if out.suffix.lower() not in (".npy", *TABLES):
        raise ValueError(f"--out {out}: a sequence model writes a .npy, .parquet or .csv file")


def request(out: Path) -> dict[str, list]:
    """A table file asks the pyfunc for the long format."""
    return {"format": ["long"]} if out.suffix.lower() in TABLES else {}


def write_samples(samples: np.ndarray | pd.DataFrame, out: Path) -> str:
    """The array as .npy, or the long table as Parquet or CSV; returns where."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(samples, pd.DataFrame):
        if out.suffix.lower() == ".csv":
            samples.to_csv(out, index=False)
        else:
            samples.to_parquet(out, index=False)
    else:
        np.save(out, np.asarray(samples, np.float32))
    return str(out)

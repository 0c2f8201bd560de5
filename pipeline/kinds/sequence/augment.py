"""`gan augment` for sequences: the train sequences and a model's in one .npz (values NaN
after each end, labels, and a `synthetic` flag per sequence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.kinds.sequence.shards import load_split

MARKER = "the boolean array `synthetic`, one per sequence (the series' channels; no static columns)"


def check_out(out: Path) -> None:
    """One .npz file."""
    if out.suffix != ".npz":
        raise ValueError(f"--out {out}: a sequence model writes the augmented set to a .npz")


def real_rows(prepared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The train and validation sequences as the pyfunc gives samples (the series' channels,
    float32 [N, T, C], static columns left out) and their class indices (-1: none)."""
    from ganmodels.sequence.statics import series_channels
    from pipeline.data import REAL, read_schema

    values, labels = (
        np.concatenate(p) for p in zip(*(load_split(prepared, s) for s in REAL), strict=True)
    )
    return values[..., series_channels(read_schema(prepared))], labels


def conditional(model: Any) -> bool:
    """Whether the loaded pyfunc's G takes a class (model.conditional: true)."""
    return int(model.unwrap_python_model().serving.sampler.num_classes) > 0


def class_request(k: int, schema: dict[str, Any]) -> dict[str, list]:
    """A class-conditional model's request for class k."""
    return {"label": [k]}


def write(
    real: np.ndarray, labels: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]],
    names: list[str], out: Path,
) -> str:  # fmt: skip
    """values, labels, synthetic and class_names in out; returns where."""
    values = np.concatenate([real, *(np.asarray(x, np.float32) for x, _ in parts)])
    classes = np.concatenate([labels, *(k for _, k in parts)])
    synthetic = np.r_[np.zeros(len(real), bool), np.ones(len(values) - len(real), bool)]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, values=values, labels=classes, synthetic=synthetic, class_names=np.array(names))
    return str(out)

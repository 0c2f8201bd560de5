"""`gan augment` for tables: the train rows and a model's rows in one file, a `synthetic`
column saying which are which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.kinds.tabular.serving import SUFFIXES, write_samples
from pipeline.kinds.tabular.shards import load_table_split

MARKER = "the boolean column `synthetic`"


def check_out(out: Path) -> None:
    """One .parquet or .csv file."""
    if out.suffix not in SUFFIXES:
        raise ValueError(
            f"--out {out}: a table model writes the augmented set to a .parquet or .csv"
        )


def real_rows(prepared: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The train and validation rows and each one's class index in the label's levels (-1: no
    label)."""
    from pipeline.data import REAL, read_schema

    rows = pd.concat([load_table_split(prepared, s) for s in REAL], ignore_index=True)
    schema = read_schema(prepared)
    if "synthetic" in rows.columns:
        raise ValueError(f"{prepared}: the table has a column named 'synthetic', the marker's name")
    if not schema["label"]:
        return rows, np.full(len(rows), -1)
    index = {name: k for k, name in enumerate(schema["class_names"])}
    values = rows[schema["label"]]
    return rows, np.array([index.get(str(v), -1) if pd.notna(v) else -1 for v in values])


def conditional(model: Any) -> bool:
    """A table model draws rows of any label level (condition_column): always."""
    return True


def class_request(k: int, schema: dict[str, Any]) -> dict[str, list]:
    """Rows whose label is class k's level."""
    return {"condition_column": [schema["label"]], "condition_value": [schema["class_names"][k]]}


def write(
    real: pd.DataFrame, labels: np.ndarray, parts: list[tuple[pd.DataFrame, np.ndarray]],
    names: list[str], out: Path,
) -> str:  # fmt: skip
    """Real rows first, then each class's samples, with `synthetic`; returns where."""
    frames = [real.assign(synthetic=False)] + [rows.assign(synthetic=True) for rows, _ in parts]
    return write_samples(pd.concat(frames, ignore_index=True), out)

"""Decoded values of one column back to the column's original dtype (nulls restored)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def is_int(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint"))


def restore(values: np.ndarray, null: np.ndarray, col: dict[str, Any]) -> pd.Series:
    """Values decoded for one column -> a Series of the column's original dtype."""
    kind, dtype, nullable = col["kind"], col["dtype"], col["nullable"]
    if kind == "datetime":
        seconds = np.where(null, 0.0, values.astype(np.float64))
        when = pd.Series(pd.to_datetime(np.round(seconds * 1e9).astype("int64")))
        return when.mask(null)
    if kind == "boolean" and dtype.lower() in ("bool", "boolean"):
        return pd.Series(values, dtype=object).mask(null).astype("boolean")
    if kind in ("categorical", "boolean"):  # a text boolean decodes to its words
        series = pd.Series(values, dtype=object).mask(null)
        if is_int(dtype):
            return series.astype("Int64" if nullable else dtype)
        return series.astype(dtype)
    x = np.round(values.astype(np.float64)) if kind == "integer" else values.astype(np.float64)
    if is_int(dtype):
        series = pd.Series(pd.array(np.where(null, 0, x).astype(np.int64), dtype="Int64"))
        return series.mask(null) if nullable else series.astype(dtype)
    return pd.Series(np.where(null, np.nan, x)).astype(dtype)

"""The label's relation to every other column, as train rows have it, for share calibration.

Raking every column to its own train shares (shares.py) leaves how the label goes with the other
columns to G. A classifier trained on G's rows reads that relation, much of it in the tails
(HMDA's `deny` against `pirat` above its 90th percentile). Prepare keeps, per other column, the
train rows' shares of (label level, column bin): a numeric column binned at train quantiles that
are finer in the upper tail, nulls a bin of their own, a categorical one by level. A sampler with
`model.label_raking` rakes G's decoded rows to these crossed margins beside the plain ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
MAX_LEVELS = 12  # a numeric column with at most this many distinct values is binned by value


def _text(values: pd.Series) -> np.ndarray:
    """Values as text, nulls as None (levels compare by their text form)."""
    return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)


def fit_label_shares(df: pd.DataFrame, columns: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Each other column's bins and the train rows' shares of (label level, bin)."""
    levels = sorted({v for v in _text(df[label]) if v is not None})
    spec: dict[str, Any] = {"label": label, "levels": levels, "columns": {}}
    for col in columns:
        name = col["name"]
        if name == label:
            continue
        values = pd.to_numeric(df[name], errors="coerce") if col["kind"] != "categorical" else None
        if values is not None and values.nunique() > MAX_LEVELS:
            edges = np.unique(np.nanquantile(values.to_numpy(dtype=np.float64), QUANTILES))
            entry: dict[str, Any] = {"edges": [float(e) for e in edges]}
        else:
            entry = {"values": sorted({v for v in _text(df[name]) if v is not None})}
        spec["columns"][name] = entry
    for key, (code, size) in label_codes(df, spec).items():
        shares = np.bincount(code, minlength=size) / len(df)
        spec["columns"][key.split("|", 1)[1]]["shares"] = np.round(shares, 6).tolist()
    return spec


def _bins(values: pd.Series, entry: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Each value's bin and the number of bins (the last: null or a value train never had)."""
    if "edges" in entry:
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        edges = np.asarray(entry["edges"])
        return np.where(np.isnan(v), len(edges) + 1, np.searchsorted(edges, v, "right")), len(
            edges
        ) + 2
    index = {v: k for k, v in enumerate(entry["values"])}
    k = len(index)
    return np.array([index.get(v, k) for v in _text(values)], dtype=np.int64), k + 1


def label_codes(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, tuple[np.ndarray, int]]:
    """Per other column, each row's (label level, bin) code and the number of codes; keyed
    `label|column` so they never clash with a column's own choices."""
    index = {v: k for k, v in enumerate(spec["levels"])}
    n_levels = len(index) + 1  # the last: null, or a level train never had
    lab = np.array([index.get(v, len(index)) for v in _text(df[spec["label"]])], dtype=np.int64)
    out = {}
    for name, entry in spec["columns"].items():
        bins, size = _bins(df[name], entry)
        out[f"{spec['label']}|{name}"] = (lab * size + bins, n_levels * size)
    return out


def label_targets(spec: dict[str, Any]) -> dict[str, list[float]]:
    """The crossed shares, keyed as label_codes keys its codes."""
    return {f"{spec['label']}|{name}": e["shares"] for name, e in spec["columns"].items()}

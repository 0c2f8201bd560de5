"""The label's relation to every other column, as train rows have it, for share calibration.

Raking every column to its own train shares (shares.py) leaves how the label goes with the other
columns to G. A classifier trained on G's rows reads that relation, much of it in the tails
(HMDA's `deny` against `pirat` above its 90th percentile). Prepare keeps, per other column, the
train rows' shares of (label level, column bin): a numeric column (datetimes as seconds) binned
at train quantiles that are finer in the upper tail, or at each of its values where it has few,
nulls a bin of their own; a discrete one by level (booleans by truth, whatever their spelling).
A sampler with `model.label_raking` rakes G's decoded rows to these crossed margins beside the
plain ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.encoders import NUMERIC, TRUE_WORDS, numbers

QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
MAX_LEVELS = 12  # a numeric column with at most this many distinct values is binned by value


def _text(values: pd.Series, kind: str) -> pd.Series:
    """Discrete values as text, nulls as None; a boolean as "true"/"false", as encoding reads
    its spellings ("Yes", "y", True)."""
    null = values.isna().to_numpy()
    text = values.astype(object).astype(str)
    if kind == "boolean":
        truth = text.str.strip().str.lower().isin(TRUE_WORDS)
        text = truth.map({True: "true", False: "false"})
    return text.where(~null, None)


def fit_label_shares(df: pd.DataFrame, columns: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Each other column's bins and the train rows' shares of (label level, bin)."""
    kinds = {col["name"]: col["kind"] for col in columns}
    levels = sorted(set(_text(df[label], kinds[label]).dropna()))
    spec: dict[str, Any] = {"label": label, "kind": kinds[label], "levels": levels, "columns": {}}
    for name, kind in kinds.items():
        if name == label:
            continue
        entry: dict[str, Any] = {"kind": kind}
        if kind in NUMERIC:
            x = numbers(df[name], kind)
            distinct = np.unique(x[~np.isnan(x)])
            # Few values: one bin each (each edge opens the next value's); else quantile bins.
            cut = distinct[1:] if len(distinct) <= MAX_LEVELS else np.nanquantile(x, QUANTILES)
            entry["edges"] = [float(e) for e in np.unique(cut)]
        else:
            entry["values"] = sorted(set(_text(df[name], kind).dropna()))
        spec["columns"][name] = entry
    for key, (code, size) in label_codes(df, spec).items():
        shares = np.bincount(code, minlength=size) / len(df)
        spec["columns"][key.split("|", 1)[1]]["shares"] = np.round(shares, 6).tolist()
    return spec


def _index(text: pd.Series, levels: list[str]) -> np.ndarray:
    """Each value's index among levels; nulls and values not among them: len(levels)."""
    codes = pd.Index(levels, dtype=object).get_indexer(text.to_numpy(dtype=object))
    return np.where(codes < 0, len(levels), codes).astype(np.int64)


def _bins(values: pd.Series, entry: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Each value's bin and the number of bins (the last: null or a value train never had)."""
    if "edges" in entry:
        v = numbers(values, entry["kind"])
        edges = np.asarray(entry["edges"])
        size = len(edges) + 2  # below the first edge, from each edge on, and null
        return np.where(np.isnan(v), size - 1, np.searchsorted(edges, v, "right")), size
    return _index(_text(values, entry["kind"]), entry["values"]), len(entry["values"]) + 1


def label_codes(df: pd.DataFrame, spec: dict[str, Any]) -> dict[str, tuple[np.ndarray, int]]:
    """Per other column, each row's (label level, bin) code and the number of codes; keyed
    `label|column` so they never clash with a column's own choices."""
    n_levels = len(spec["levels"]) + 1  # the last: null, or a level train never had
    lab = _index(_text(df[spec["label"]], spec["kind"]), spec["levels"])
    out = {}
    for name, entry in spec["columns"].items():
        bins, size = _bins(df[name], entry)
        out[f"{spec['label']}|{name}"] = (lab * size + bins, n_levels * size)
    return out


def label_targets(spec: dict[str, Any]) -> dict[str, list[float]]:
    """The crossed shares, keyed as label_codes keys its codes."""
    return {f"{spec['label']}|{name}": e["shares"] for name, e in spec["columns"].items()}

"""Numeric columns that are a function of another column (Wage's logwage = log(wage), a price in
two currencies, a temperature in C and F): learned from the train rows, never generated, computed
from the column they follow on decoding.

A GAN generates such a pair as two columns and gets the relation only roughly, which a
gradient-boosted detector sees at once (and the independent-marginals baseline breaks entirely).
A derived column carries a lookup table of (source value, value) knots from the train rows;
decoding interpolates it, then snaps to the column's own rules (rules.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganmodels.tabular.rules import RuleSettings

MAX_KNOTS = 4096  # a lookup table longer than this keeps quantile-spaced knots


def _per_value(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct x values and the least and greatest y seen with each."""
    xs, at = np.unique(x, return_inverse=True)
    lo, hi = np.full(len(xs), np.inf), np.full(len(xs), -np.inf)
    np.minimum.at(lo, at, y)
    np.maximum.at(hi, at, y)
    return xs, lo, hi


def is_monotone_function(x: np.ndarray, y: np.ndarray, min_distinct: int) -> bool:
    """Whether y is one strictly monotone function of x (NaN in the same rows), with x taking
    at least min_distinct values: fewer would let chance pass for a relation."""
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        return False
    keep = ~np.isnan(x)
    xs, lo, hi = _per_value(x[keep], y[keep])
    if len(xs) < min_distinct or not np.allclose(lo, hi, rtol=1e-9, atol=0.0):
        return False
    step = np.diff(lo)
    return bool((step > 0).all() or (step < 0).all())


def find_derived(columns: dict[str, np.ndarray], min_distinct: int) -> dict[str, str]:
    """{column: the earlier column it is a monotone function of}, in the given order; a column
    another follows is never itself derived, so every source is generated."""
    names, out = list(columns), {}
    # A strictly monotone function maps distinct values one to one: only columns with as many
    # distinct values can be a pair, so a wide table is not checked pair by pair in full.
    distinct = {c: len(np.unique(v[~np.isnan(v)])) for c, v in columns.items()}
    for j, y in enumerate(names):
        for x in names[:j]:
            if x in out or distinct[x] != distinct[y]:
                continue
            if is_monotone_function(columns[x], columns[y], min_distinct):
                out[y] = x
                break
    return out


def fit_knots(x: np.ndarray, y: np.ndarray, source: str, column: str) -> dict[str, Any]:
    """The lookup table of y over x (the mean y of each distinct x); fails naming both columns
    where their missing values differ, which no function of x could reproduce."""
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        row = int(np.flatnonzero(np.isnan(x) != np.isnan(y))[0])
        raise ValueError(
            f"column {column!r} cannot be derived from {source!r}: train row {row + 1} has a "
            "value in one and none in the other"
        )
    keep = ~np.isnan(x)
    xs, at = np.unique(x[keep], return_inverse=True)
    ys = np.bincount(at, weights=y[keep]) / np.bincount(at)
    if len(xs) > MAX_KNOTS:
        pick = np.unique(np.linspace(0, len(xs) - 1, MAX_KNOTS).round().astype(int))
        xs, ys = xs[pick], ys[pick]
    return {"derived_from": source, "knots_x": xs.tolist(), "knots_y": ys.tolist()}


def derive(x: np.ndarray, enc: dict[str, Any]) -> np.ndarray:
    """The derived column's values for source values x (NaN stays NaN; ends held flat)."""
    return np.interp(x, enc["knots_x"], enc["knots_y"])


def derived_columns(
    values: dict[str, np.ndarray], rules: RuleSettings | None, declared: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """{column: its source}: declared ones, then (when rules.derived) those found in the data."""
    found = {}
    if rules is not None and rules.derived:
        # Fewer distinct values than a levels column has could pass for a relation by chance.
        found = find_derived(values, min_distinct=rules.max_levels + 1)
    pinned = {c: d["derived_from"] for c, d in declared.items() if d.get("derived_from")}
    # A declared source is generated: nothing found may derive it or derive from a derived one.
    found = {y: x for y, x in found.items() if y not in pinned.values() and x not in pinned}
    return found | pinned

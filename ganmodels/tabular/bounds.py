"""Ranges under a premise: "income is null => age <= 15", "married is yes => age >= 15".

A numeric column's range is one rule for every row (rules.py), but a table often narrows it
where another column has a given value: children have no income, are not married and do not
work. A GAN smears such an edge (a few married 8-year-olds), and a boosted detector finds those
rows at once. Prepare finds, for each exact value of a column (a level, a heap, null or not:
implications.slots) and each numeric column, the train rows' range of the column under that
value, and keeps it where it is narrow beyond chance: a notable share of the other rows lie
outside it, and the premise's rows would not all fall inside by chance. Sampling keeps only
rows inside every kept range (rejection, before the share weights are fitted and when drawing).

A bound is {"if": a side as in implications.py, "column", "min", "max", "rows", "outside"}:
plain JSON in transformer.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CHANCE = 1e-9  # as implications.py: hundreds of (premise, column) pairs are tested
MIN_ROWS = 20  # the premise holds in at least this many train rows (and 1% of them)
MIN_OUTSIDE = 0.05  # at least this share of the column's train values lie outside the range

Slot = tuple[dict[str, Any], list[tuple[int, int]], list[tuple[int, int]]]


def premise_hits(rows: np.ndarray, widths: Sequence[int], premise: Sequence[Any]) -> np.ndarray:
    """Which encoded rows have the premise: each of its (span, index) one-hots wins its span."""
    starts = np.cumsum([0, *widths])[:-1]
    hit = np.ones(len(rows), dtype=bool)
    for span, i in premise:
        piece = rows[:, starts[span] : starts[span] + widths[span]]
        hit &= piece.argmax(axis=1) == i
    return hit


def find_bounds(
    rows: np.ndarray, widths: Sequence[int], found: list[Slot], values: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """The narrow ranges of each numeric column (values: NaN where null) under each slot."""
    n, out = len(rows), []
    for side, premise, _ in found:
        hit = premise_hits(rows, widths, premise)
        if hit.sum() < max(MIN_ROWS, 0.01 * n):
            continue
        for column, x in values.items():
            if column == side["column"]:
                continue
            inside = x[hit & ~np.isnan(x)]
            if len(inside) < MIN_ROWS:
                continue
            lo, hi = float(inside.min()), float(inside.max())
            every = x[~np.isnan(x)]
            p = float(((every >= lo) & (every <= hi)).mean())
            # All the premise's rows inside by chance: p ** rows, as rare as CHANCE at most.
            if 1.0 - p < MIN_OUTSIDE or len(inside) * np.log(p) >= np.log(CHANCE):
                continue
            out.append({"if": side, "column": column, "min": lo, "max": hi,
                        "rows": int(len(inside)), "outside": round(1.0 - p, 4)})  # fmt: skip
    return out


def bound_premises(bounds: Sequence[dict[str, Any]], found: list[Slot]) -> list[list[list[int]]]:
    """Each bound's premise as (span index, one-hot index) pairs; fails naming an unknown one."""
    index = {_key(side): premise for side, premise, _ in found}
    out = []
    for bound in bounds:
        if _key(bound["if"]) not in index:
            raise ValueError(f"bound {bound}: {bound['if']} is not a value of the table")
        out.append([list(p) for p in index[_key(bound["if"])]])
    return out


def _key(side: dict[str, Any]) -> tuple[str, str, str]:
    kind = "null" if "null" in side else "value"
    return side["column"], kind, repr(side.get("null", side.get("value")))


def within(
    rows: np.ndarray,
    widths: Sequence[int],
    bounds: Sequence[dict[str, Any]],
    premises: Sequence[Any],
    values: dict[str, np.ndarray],
) -> np.ndarray:
    """Which rows (encoded, implications applied; values: their decoded numbers, NaN where
    null) keep every bound: a null value keeps it (nullness is the implications' part)."""
    ok = np.ones(len(rows), dtype=bool)
    for bound, premise in zip(bounds, premises, strict=True):
        x = values[bound["column"]]
        out = (x < bound["min"]) | (x > bound["max"])  # NaN compares False: kept
        ok &= ~(premise_hits(rows, widths, premise) & out)
    return ok

"""What a numeric column's values can be, learned from its train values (as RDT learns rounding
and min/max): the rounding step (multiples of 5, of 100, two decimals), the exact values that
hold a notable share of rows (point masses: zero inflation, heaping; every value when the column
has only a few: levels), the observed range, and the support (the train values themselves, when
most rows hold a value that recurs). The encoder makes each heap a mode of its own, generated
exactly; decoding snaps the continuous remainder to the step, the range and the support.

A column's rules are plain JSON in its encoder state (transformer.json), where a user reads
them; `data.columns` can declare any of them instead (`declared` lists which were).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Candidate steps, coarsest first: {1, 2, 2.5, 5} x 10^p, and a minute, an hour and a day for
# datetimes (in seconds). A column's step is the coarsest that (nearly) all its values sit on.
STEPS = sorted(
    {round(m * 10.0**p, 12) for p in range(-6, 10) for m in (1, 2, 2.5, 5)} | {60, 3600, 86400},
    reverse=True,
)
# A heap must stand out from its neighbours, not only pass the share: a value this many times
# the median count of the column's values (in a small table every value of a fine grid holds 1%).
HEAP_CONTRAST = 3.0


@dataclass(frozen=True)
class RuleSettings:
    """How rules are learned (params.yaml's data.step_share, heap_share, max_levels)."""

    step_share: float  # the step is the coarsest grid that holds at least this share of values
    heap_share: float  # a value holding at least this share of rows is a heap
    max_levels: int  # a column with at most this many distinct values is generated as levels
    derived: bool  # find columns that are a monotone function of an earlier one (derived.py)
    support_share: float  # a column whose recurring values hold this share of rows keeps them
    implication_share: float = 0.0  # implications.py: kept when they hold this share (0: none)
    order_share: float = 0.0  # orders.py: "a <= b" kept when it holds in this share (0: none)
    bounds: bool = False  # bounds.py: find numeric columns' ranges under other columns' values


def _on_grid(x: np.ndarray, step: float) -> np.ndarray:
    q = x / step
    return np.isclose(q, np.round(q), rtol=1e-9, atol=1e-6)


def learn_step(x: np.ndarray, share: float, integral: bool) -> float | None:
    """The coarsest candidate step that at least `share` of x sits on (None: no grid)."""
    spread = float(np.max(np.abs(x))) if len(x) else 0.0
    for step in STEPS:
        if step > spread or (integral and step < 1):
            continue
        if _on_grid(x, step).mean() >= share:
            return float(step)
    return 1.0 if integral else None


def learn_heaps(x: np.ndarray, settings: RuleSettings) -> tuple[list[float], list[float], bool]:
    """(heap values, their shares of x, levels?): every value when there are few of them."""
    values, counts = np.unique(x, return_counts=True)
    if len(values) <= settings.max_levels:
        chosen = np.ones(len(values), dtype=bool)
        levels = True
    else:
        floor = max(settings.heap_share * len(x), HEAP_CONTRAST * float(np.median(counts)))
        chosen = counts >= floor
        levels = False
    order = np.argsort(-counts[chosen], kind="stable")
    heaps = values[chosen][order]
    shares = counts[chosen][order] / len(x)
    return [float(v) for v in heaps], [round(float(s), 6) for s in shares], levels


def learn_support(x: np.ndarray, share: float) -> list[float] | None:
    """The distinct values of x when those seen at least twice hold `share` of its rows (a
    ratio of round amounts, salaries in thousands: the values come from a finite set), else
    None. Decoding then keeps to them, as levels do for columns with few values."""
    values, counts = np.unique(x, return_counts=True)
    if not len(x) or counts[counts > 1].sum() < share * len(x):
        return None
    return [float(v) for v in values]


def learn_rules(
    x: np.ndarray, integral: bool, settings: RuleSettings | None, declared: dict[str, Any]
) -> dict[str, Any]:
    """A numeric column's rules from its non-null train values; declared keys win."""
    rules: dict[str, Any] = {"min": float(np.min(x)), "max": float(np.max(x))}
    rules |= {"step": 1.0 if integral else None, "heaps": [], "heap_shares": [], "levels": False}
    if settings is not None:
        rules["step"] = learn_step(x, settings.step_share, integral)
        heaps, shares, levels = learn_heaps(x, settings)
        rules |= {"heaps": heaps, "heap_shares": shares, "levels": levels}
        rules["support"] = None if levels else learn_support(x, settings.support_share)
    for key, value in declared.items():
        if key == "heaps":  # declared heaps: their shares are measured, as learned ones are
            value = [float(v) for v in value]
            rules["heap_shares"] = [round(float(np.mean(x == v)), 6) for v in value]
        if key == "step" and value == 0:  # step 0: no rounding
            value = 1.0 if integral else None
        if key == "support":  # declared true: every train value, whatever share recurs
            value = [float(v) for v in np.unique(x)] if value else None
        rules[key] = value
    if rules["levels"] and "heaps" not in declared:
        # Declared levels: every distinct value is a heap.
        values, counts = np.unique(x, return_counts=True)
        rules["heaps"] = [float(v) for v in values]
        rules["heap_shares"] = [round(float(c / len(x)), 6) for c in counts]
    if rules.get("support"):  # a declared range narrows the values kept
        kept = [v for v in rules["support"] if rules["min"] <= v <= rules["max"]]
        rules["support"] = kept or None
    rules["declared"] = sorted(declared)
    return rules


def is_heap(x: np.ndarray, heaps: list[float]) -> np.ndarray:
    """Index of each value's heap, -1 where it is none."""
    out = np.full(len(x), -1, dtype=np.int64)
    for k, v in enumerate(heaps):
        out[(x == v) & (out < 0)] = k
    return out


def snap(x: np.ndarray, rules: dict[str, Any]) -> np.ndarray:
    """Continuous values onto the column's grid, inside its range, onto its support."""
    lo, hi, step = rules["min"], rules["max"], rules.get("step")
    if step:
        # The range's own grid points, so clipping cannot leave the grid.
        lo_grid, hi_grid = np.ceil(lo / step - 1e-9) * step, np.floor(hi / step + 1e-9) * step
        if lo_grid <= hi_grid:
            lo, hi = lo_grid, hi_grid
        x = np.round(x / step) * step
        # Float noise off (0.1 * 3 -> 0.30000000000000004): as many decimals as the step has.
        x = np.round(x, max(0, int(np.ceil(-np.log10(step) - 1e-9))) + 1)
    x = np.clip(x, lo, hi)
    support = rules.get("support")
    if support:  # the nearest value the column takes (x lies inside their range by now)
        values = np.asarray(support, dtype=np.float64)
        at = np.clip(np.searchsorted(values, x), 1, max(len(values) - 1, 1))
        lower, upper = values[at - 1], values[np.minimum(at, len(values) - 1)]
        x = np.where(x - lower <= upper - x, lower, upper)
    return x

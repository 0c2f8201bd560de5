"""Order between two numeric columns: "the housing expense ratio is at most the total payment
ratio" (HMDA's hirat <= pirat in 99.8% of rows, where two columns drawn on their own would break
it in 21%).

A GAN generates the two as separate columns, mode by mode, and breaks the order in a share of
its rows (a fifth of them, measured), which a gradient-boosted detector on the pair tells at
once; dropping those rows would bend both columns' shapes. So the upper column is generated as
its excess over the lower one (SDV's inequality constraint as a transform): its encoder models
`upper - lower` with its own modes, heaps and rules, and decoding adds the lower column's value
back, then keeps the upper column's own rules (range, step, support).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganmodels.tabular.rules import snap

# An order is kept when seeing it by chance (each column drawn on its own) is less likely than
# this: every ordered pair of numeric columns is a candidate, so a loose bar finds coincidences.
LOG_CHANCE = float(np.log(1e-9))
MIN_ROWS = 20


def chance_of(lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    """(share of rows with lower <= upper, the log chance of at most this many breaks if the
    two columns were drawn on their own)."""
    from scipy.stats import binom  # fitting only: serving needs numpy alone

    breaks, n = int((lower > upper).sum()), len(lower)
    # P(lower > upper) for independent draws: for each lower value, the share of uppers below.
    p_break = float(np.searchsorted(np.sort(upper), lower, side="left").mean() / n)
    return 1.0 - breaks / n, float(binom.logcdf(breaks, n, p_break)) if p_break > 0 else 0.0


def find_orders(values: dict[str, np.ndarray], share: float) -> dict[str, str]:
    """{upper column: its lower column} for every order holding in `share` of the rows that
    have both, not by chance; a column is the upper one of at most one order (its likeliest)
    and never the lower one of another, so decoding needs no chain. Columns with nulls take no
    part: an upper value needs its lower one."""
    full = {c: v for c, v in values.items() if not np.isnan(v).any() and len(np.unique(v)) > 1}
    found: dict[str, tuple[float, str]] = {}
    for upper, y in full.items():
        for lower, x in full.items():
            if lower == upper or len(x) < MIN_ROWS:
                continue
            held, chance = chance_of(x, y)
            if held >= share and chance < LOG_CHANCE and chance < found.get(upper, (0.0, ""))[0]:
                found[upper] = (chance, lower)
    out: dict[str, str] = {}
    for upper, (_, lower) in sorted(found.items(), key=lambda kv: kv[1][0]):
        if lower not in out and upper not in out.values():
            out[upper] = lower
    return out


def order_columns(
    values: dict[str, np.ndarray],
    share: float,
    declared: dict[str, dict[str, Any]],
    skip: set[str],
) -> dict[str, str]:
    """{upper: lower}: declared `at_least` ones, and (share > 0) those found among the columns
    not in skip that fit beside them (no chain: an upper column is never a lower one)."""
    pinned = {c: d["at_least"] for c, d in declared.items() if d.get("at_least")}
    found = find_orders({c: v for c, v in values.items() if c not in skip}, share) if share else {}
    lowers = set(pinned.values())
    fits = {u: lo for u, lo in found.items() if u not in pinned and u not in lowers}
    return {u: lo for u, lo in fits.items() if lo not in pinned} | pinned


def excess(upper: np.ndarray, lower: np.ndarray, name: str, lower_name: str) -> np.ndarray:
    """The upper column's excess over the lower one (float noise rounded off, so that heaps of
    it read 0.01, not 0.010000000000000009); fails naming both columns where a row has an
    upper value and no lower one, from which no upper value could be decoded."""
    gap = np.isnan(lower) & ~np.isnan(upper)
    if gap.any():
        raise ValueError(
            f"column {name!r} cannot be generated as at least {lower_name!r}: row "
            f"{int(np.flatnonzero(gap)[0]) + 1} has a value in {name!r} and none in {lower_name!r}"
        )
    return np.round(upper - lower, 9)


def decode_upper(
    lower: np.ndarray, excess: np.ndarray, own: dict[str, Any], heap: np.ndarray | None = None
) -> np.ndarray:
    """The upper column from the lower one and the generated excess (or its own heap, where
    `heap` has one: never below the lower one), on its own rules; a value its rules would
    round below the lower one goes to the next value they allow."""
    raw = lower + excess
    if heap is not None:
        mine = ~np.isnan(heap) & ~np.isnan(raw)
        raw[mine] = np.maximum(heap[mine], lower[mine])
    out = snap(raw, own)
    # Rounded below it: by the support's nearest value or the step's grid (a clip to the
    # range's top below the lower value leaves nothing above it to go to).
    low = (out < lower) & (raw >= lower)
    step, support = own.get("step"), own.get("support")
    if low.any() and support:
        values = np.asarray(support, dtype=np.float64)
        at = np.minimum(np.searchsorted(values, lower[low], side="left"), len(values) - 1)
        out[low] = values[at]
    elif low.any() and step:
        out[low] = np.minimum(np.ceil(lower[low] / step - 1e-9) * step, own["max"])
    return out

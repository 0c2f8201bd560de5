"""One column's part of the table encoding (transformer.py): fitting its encoder from the train
rows, encoding its values into its spans and decoding them back.

A numeric column's encoder holds its rules (rules.py), its heaps and the Gaussian-mixture modes of
what the heaps leave (CTGAN's mode-specific normalization); a derived column's, its lookup table
(derived.py); an upper column's (orders.py), the same for its excess over the lower column, with
its own rules under "own" and its own heaps as modes of their own ("own_heaps"). A discrete
column's holds its levels and their counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.calibration import alpha_quantiles
from ganmodels.tabular.derived import fit_knots
from ganmodels.tabular.modes import fit_modes
from ganmodels.tabular.orders import excess
from ganmodels.tabular.rules import RuleSettings, is_heap, learn_rules, snap

NUMERIC = ("continuous", "integer", "datetime")
TRUE_WORDS, FALSE_WORDS = frozenset({"true", "yes", "t", "y"}), frozenset({"false", "no", "f", "n"})


def numbers(s: pd.Series, kind: str) -> np.ndarray:
    """A numeric column as float64 (datetimes as seconds since the epoch); missing -> NaN."""
    if kind == "datetime":
        when = pd.to_datetime(s, errors="coerce", format="mixed")
        # Seconds since the epoch, whatever the unit pandas stores (ns, us...); NaT -> NaN.
        return ((when - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)


def column_encoder(
    col: dict[str, Any],
    df: pd.DataFrame,
    values: dict[str, np.ndarray],
    pick: Any,
    rules: RuleSettings | None,
    declared: dict[str, dict[str, Any]],
    derived: dict[str, str],
    max_modes: int,
    seed: int,
    lower: str | None = None,
) -> dict[str, Any]:
    """One column's encoder (a numeric one generated as its excess over `lower`, if any)."""
    name = col["name"]
    if col["kind"] not in NUMERIC:
        enc: dict[str, Any] = {"levels": list(col["categories"])}
        null = df[name].isna().to_numpy()
        onehot = encode_discrete(df[name], null, col, enc)
        # Level frequencies: what unconditional sampling draws its conditions from.
        enc["counts"] = onehot[~null].sum(axis=0).astype(int).tolist()
        return enc
    full = values[name]
    mine = {k: v for k, v in declared.get(name, {}).items() if k != "at_least"}  # not a rule
    found = learn_rules(full[~np.isnan(full)], col["kind"] == "integer", rules, mine)
    if name in derived:  # computed from its source: nothing to generate
        knots = fit_knots(values[derived[name]], full, derived[name], name)
        return {"means": [], "stds": [], **found, **knots}
    if lower is None:
        return fit_numeric(full, pick, found, max_modes, seed)
    # Generated as its excess, its own rules kept for decoding; its own heaps (pirat's 0.33)
    # stay modes of their own, or the excess would spread them. "own_heaps" repeats own's
    # heaps on purpose: it says the mode one-hot has them (exports made before have none).
    own, full = full, excess(full, values[lower], name, lower)
    order = {"at_least": lower, "own": found, "own_heaps": found["heaps"]}
    rest = learn_rules(full[~np.isnan(full)], False, rules, {})
    return fit_numeric(full, pick, rest | order, max_modes, seed, own)


def fit_numeric(
    full: np.ndarray,
    pick: np.ndarray | slice,
    found: dict[str, Any],
    max_modes: int,
    seed: int,
    own: np.ndarray | None = None,
) -> dict[str, Any]:
    """A generated numeric column's encoder: its rules, and mixture modes fitted on the rows
    `pick` of full for what its heaps (and an upper column's own heaps, of `own`) leave."""
    enc = {"means": [], "stds": [], **found}
    none = np.isnan(full)
    heap = _heap(full, none, enc, own)
    rest = full[pick][(heap < 0)[pick] & ~none[pick]]  # the mixture models what heaps don't
    if len(rest):
        enc["means"], enc["stds"] = fit_modes(rest, max_modes, seed)
    present = full[~none]
    if enc["means"]:  # how often each mode occurs: unconditional sampling's conditions
        mine = own[~none] if own is not None else None
        alpha, onehot = encode_numeric(present, np.zeros(len(present), bool), enc, mine)
        enc["mode_counts"] = onehot.sum(axis=0).astype(int).tolist()
        # Where each mode's values sit in it: what a sampler calibrates G's to (calibration.py).
        mode = onehot.argmax(axis=1) - (mode_width(enc) - len(enc["means"]))
        enc["alpha_quantiles"] = alpha_quantiles(alpha[:, 0], mode, len(enc["means"]))
    else:  # heaps only: a discrete column, conditioned on as one
        heap = is_heap(present, found["heaps"])
        counts = np.bincount(heap[heap >= 0], minlength=len(found["heaps"]))
        enc["counts"] = counts.astype(int).tolist()
    return enc


def _heap(x: np.ndarray, null: np.ndarray, enc: dict, own: np.ndarray | None) -> np.ndarray:
    """Each row's heap index (-1: none): an upper column's own heaps, after the excess's."""
    heap = is_heap(np.where(null, np.nan, x), enc.get("heaps", []))
    if enc.get("own_heaps"):  # first: the exact value is what a reader sees
        mine = is_heap(np.where(null, np.nan, own), enc["own_heaps"])
        heap = np.where(mine >= 0, len(enc["heaps"]) + mine, heap)
    return heap


def encode_numeric(
    x: np.ndarray, null: np.ndarray, enc: dict, own: np.ndarray | None = None
) -> list[np.ndarray]:
    """A numeric column's spans: [alpha] (when it has mixture modes) and its mode one-hot
    (`own`: an upper column's own values, for its own heaps; x is then its excess)."""
    heaps = np.array(enc.get("heaps", []), dtype=np.float64)
    means, stds = np.array(enc["means"]), np.array(enc["stds"])
    modes = np.zeros(len(x), dtype=np.int64)  # a null row: the first mode, alpha 0
    alpha = np.zeros(len(x))
    heap = _heap(x, null, enc, own)
    n_heaps = len(heaps) + len(enc.get("own_heaps", []))
    if len(means):
        rest = (heap < 0) & ~null
        # The most likely mixture mode (equal weights: the kept modes all matter).
        score = -0.5 * ((x[rest, None] - means) / stds) ** 2 - np.log(stds)
        mode = score.argmax(axis=1)
        modes[rest] = n_heaps + mode
        alpha[rest] = np.clip((x[rest] - means[mode]) / (4 * stds[mode]), -0.99, 0.99)
    else:  # levels only: a value train never had (a holdout's) goes to the nearest level
        off = (heap < 0) & ~null
        heap[off] = np.abs(x[off, None] - heaps).argmin(axis=1)
    modes[heap >= 0] = heap[heap >= 0]
    onehot = np.eye(n_heaps + len(means), dtype=np.float32)[modes]
    return ([alpha[:, None].astype(np.float32)] if len(means) else []) + [onehot]


def encode_discrete(s: pd.Series, null: np.ndarray, col: dict, enc: dict) -> np.ndarray:
    """A discrete column's one-hot; fails naming the column and row of an unknown category."""
    index = {v: i for i, v in enumerate(enc["levels"])}
    values = s.to_numpy(dtype=object)
    if col["kind"] == "boolean":
        # Levels are (false, true), as booleans or as the file's words (no, yes).
        index = {False: 0, True: 1}
        values = [v if isinstance(v, bool) or v is None
                  else str(v).strip().lower() in TRUE_WORDS
                  for v in np.where(null, None, values)]  # fmt: skip
    codes = np.zeros(len(s), dtype=np.int64)
    for row, (v, is_null) in enumerate(zip(values, null, strict=True)):
        if is_null:
            continue
        key = v.item() if isinstance(v, np.generic) else v
        if key not in index:
            raise ValueError(
                f"column {col['name']!r}, row {row + 1}: value {key!r} is not among the "
                f"fitted categories {enc['levels'][:10]}"
            )
        codes[row] = index[key]
    return np.eye(len(enc["levels"]), dtype=np.float32)[codes]


def mode_width(enc: dict) -> int:
    """A numeric column's mode one-hot width: its heaps, own heaps and mixture modes."""
    return len(enc.get("heaps", [])) + len(enc.get("own_heaps", [])) + len(enc["means"])


def decode_numeric(rows: np.ndarray, at: int, enc: dict) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column from its span: heaps exactly, the rest snapped to its rules; and an
    upper column's own heap where its row has one (NaN elsewhere; its value there: 0)."""
    own = np.array(enc.get("own_heaps", []), dtype=np.float64)
    heaps = np.concatenate([np.array(enc.get("heaps", []), dtype=np.float64), 0 * own])
    means, stds = np.array(enc["means"]), np.array(enc["stds"])
    k = len(means)
    alpha = rows[:, at] if k else np.zeros(len(rows))
    at += int(bool(k))
    modes = rows[:, at : at + mode_width(enc)].argmax(axis=1)
    values, mine = np.empty(len(rows)), np.full(len(rows), np.nan)
    heap = modes < len(heaps)
    values[heap] = heaps[modes[heap]]
    at_own = modes - (len(heaps) - len(own))
    hit = heap & (at_own >= 0)
    mine[hit] = own[at_own[hit]]
    m = modes[~heap] - len(heaps)
    rest = means[m] + np.clip(alpha[~heap], -1, 1) * 4 * stds[m]
    values[~heap] = snap(rest, enc)
    return values, mine

"""Share calibration: G's rows drawn as often, choice by choice, as the train rows have them.

Every column makes one discrete choice per row: a categorical level, a numeric column's heap or
"not a heap", or null. A GAN over-draws a column's commonest choices (acs12's `time_to_work`:
its heap at 15 minutes holds 16% of train rows and half of G's; `hrs_work`'s 40 hours 44% and
64%), and conditioning on one column at a time fixes one column's shares, not the others'.
Prepare keeps each column's choice shares (`shares` in transformer.json). A sampler draws a
reference batch from G once and fits one factor per (column, choice) by iterative proportional
fitting (raking, as survey weights are fitted to known margins), so that the batch weighted by
each row's product of factors has the train rows' shares in every column at once. Sampling
keeps each drawn row with probability weight / cap: the rows stay whole rows of G's, drawn
independently, so what G learnt between columns stays; only how often each kind of row occurs
changes.

A numeric column's mixture modes are not choices of their own: where modes overlap, G may use
them otherwise than the train rows' mixture does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ITERATIONS, TOLERANCE = 200, 1e-4  # raking stops when every share is this close
FACTORS = (1 / 30, 30.0)  # a choice G (nearly) never draws cannot be weighted up without bound
# Weights are kept at most a cap, or a few extreme rows would set the acceptance rate of all:
# the lowest cap that takes at most this share of the reference batch's total weight away.
CAP_LOSS = 0.005
# A G this far from the train shares (an undertrained one) would keep fewer than this share of
# its rows: its factors are tempered (all raised to one power < 1) until it keeps this many, its
# shares moved toward train's part way, rather than sampling taking hundreds of draws per row.
MIN_KEEP = 0.02


def choices(rows: np.ndarray, spans: Sequence[Any], exact: dict[str, int]) -> dict[str, np.ndarray]:
    """Each column's choice per encoded row: its level, or its heap, or "not a heap" (every
    mixture mode at once), or null where its null flag wins. `exact`: how many of a numeric
    column's mode entries are heaps (they come first)."""
    out: dict[str, np.ndarray] = {}
    size = sizes(spans, exact)
    for s, piece in _pieces(rows, spans):
        if s.role == "level":
            out[s.column] = piece.argmax(axis=1)
        elif s.role == "mode":
            out[s.column] = np.minimum(piece.argmax(axis=1), exact.get(s.column, 0))
        elif s.role == "null":
            null = piece[:, 1] > piece[:, 0]  # as decoding reads it
            base = out.get(s.column, np.zeros(len(rows), dtype=np.int64))
            out[s.column] = np.where(null, size[s.column] - 1, base)
    return out


def sizes(spans: Sequence[Any], exact: dict[str, int]) -> dict[str, int]:
    """How many choices each column has (`choices`)."""
    out: dict[str, int] = {}
    for s in spans:
        if s.role == "level":
            out[s.column] = s.width
        elif s.role == "mode":
            out[s.column] = exact.get(s.column, 0) + 1
        elif s.role == "null":
            out[s.column] = out.get(s.column, 1) + 1
    return out


def _pieces(rows: np.ndarray, spans: Sequence[Any]) -> list[tuple[Any, np.ndarray]]:
    starts = np.cumsum([0] + [s.width for s in spans])
    return [(s, rows[:, starts[k] : starts[k + 1]]) for k, s in enumerate(spans)]


def choice_shares(
    rows: np.ndarray, spans: Sequence[Any], exact: dict[str, int]
) -> dict[str, list[float]]:
    """Each column's share of rows per choice (the last one null, for a nullable column)."""
    size = sizes(spans, exact)
    return {
        name: np.round(np.bincount(code, minlength=size[name]) / len(rows), 6).tolist()
        for name, code in choices(rows, spans, exact).items()
    }


@dataclass(frozen=True)
class Raking:
    """One factor per (column, choice); a row's weight is the product of its choices' factors,
    kept at most `cap`."""

    factors: dict[str, np.ndarray]
    cap: float

    def weights(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Each row's weight from its choices (codes from `choices`)."""
        return np.minimum(_product(self.factors, codes), self.cap)

    def keep(self, codes: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Which rows to keep: each with probability weight / cap."""
        w = self.weights(codes)
        return rng.random(len(w)) * self.cap < w


def fit_raking(codes: dict[str, np.ndarray], shares: dict[str, Sequence[float]]) -> Raking:
    """Factors that give the reference batch (its rows' codes) the train rows' shares."""
    names = [n for n in codes if n in shares and len(shares[n]) > int(codes[n].max())]
    target = {n: np.asarray(shares[n], dtype=np.float64) for n in names}
    factors = {n: np.ones(len(target[n])) for n in names}
    w = np.ones(len(next(iter(codes.values())))) if codes else np.ones(0)
    for _ in range(ITERATIONS):
        worst = 0.0
        for n in names:
            now = np.bincount(codes[n], weights=w, minlength=len(target[n])) / w.sum()
            worst = max(worst, float(np.abs(now - target[n]).max()))
            step = np.where(now > 0, target[n] / np.maximum(now, 1e-12), 1.0)
            new = np.clip(factors[n] * step, *FACTORS)
            w *= (new / factors[n])[codes[n]]
            factors[n] = new
        if worst < TOLERANCE:
            break
    raking = Raking(factors, _cap(w))
    if not len(w) or _kept(raking, codes) >= MIN_KEEP:
        return raking
    lo, hi = 0.0, 1.0  # powers of the factors: 0 keeps every row, 1 is the full raking
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _kept(_tempered(raking, codes, mid), codes) >= MIN_KEEP else (lo, mid)
    return _tempered(raking, codes, lo)


def _tempered(raking: Raking, codes: dict[str, np.ndarray], power: float) -> Raking:
    """The factors raised to `power`, the cap fitted again on the reference batch."""
    factors = {n: f**power for n, f in raking.factors.items()}
    return Raking(factors, _cap(_product(factors, codes)))


def _product(factors: dict[str, np.ndarray], codes: dict[str, np.ndarray]) -> np.ndarray:
    """Each row's product of its choices' factors (uncapped)."""
    w = np.ones(len(next(iter(codes.values()))) if codes else 0)
    for name, f in factors.items():
        w *= f[codes[name]]
    return w


def _kept(raking: Raking, codes: dict[str, np.ndarray]) -> float:
    """The share of the reference batch that sampling keeps (weight / cap per row)."""
    return float(raking.weights(codes).mean() / raking.cap)


def _cap(w: np.ndarray) -> float:
    """The lowest c with sum(max(w - c, 0)) <= CAP_LOSS * sum(w) (bisection: it is monotone)."""
    if not len(w):
        return 1.0
    lo, hi, total = 0.0, float(w.max()), float(w.sum())
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(w - mid, 0).sum() > CAP_LOSS * total else (lo, mid)
    return hi

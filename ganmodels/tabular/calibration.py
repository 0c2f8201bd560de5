"""Calibration of G's continuous values, mode by mode: each mixture mode's alpha (the value's
place within its mode) mapped from G's quantiles to the train rows'.

A GAN gets a numeric column's modes right before it gets the spread within each: its alphas
bunch where the train rows' spread (a boosted detector reads the column alone). Prepare keeps
the train rows' alpha quantiles per mode (`alpha_quantiles` in transformer.json); a sampler
draws a reference batch from G once, takes G's own quantiles per mode and maps every drawn
alpha through the monotone piecewise-linear map between the two. The map keeps each row's
rank within its mode, so what G learnt between columns stays; mode shares stay G's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LEVELS = np.linspace(0.0, 1.0, 21)  # the quantiles kept per mode
MIN_ROWS = 50  # a mode with fewer train rows (or G rows in the reference) keeps G's alphas


@dataclass(frozen=True)
class ModeMap:
    """One mixture mode's map: alpha's place in the row, the mode's one-hot entry, G's and
    the train rows' alpha quantiles."""

    alpha: int
    modes: tuple[int, int]  # the column's mode one-hot, [start, stop) in the row
    mode: int  # this mode's entry in it
    g: np.ndarray
    train: np.ndarray


def alpha_quantiles(alpha: np.ndarray, mode: np.ndarray, k: int) -> list[list[float]]:
    """Each of k mixture modes' alpha quantiles at LEVELS ([] for a mode of few rows)."""
    return [
        np.round(np.quantile(alpha[mode == m], LEVELS), 6).tolist()
        if (mode == m).sum() >= MIN_ROWS
        else []
        for m in range(k)
    ]


def fit_maps(rows: np.ndarray, transformer: Any) -> list[ModeMap]:
    """The maps of every mixture mode, from a reference batch of G's (activated) rows."""
    spans = transformer.spans
    encoders = {
        c["name"]: e for c, e in zip(transformer.columns, transformer.encoders, strict=True)
    }
    starts = np.cumsum([0] + [s.width for s in spans])
    maps = []
    for k, span in enumerate(spans):
        enc = encoders.get(span.column, {})
        if span.role != "scalar" or not enc.get("alpha_quantiles"):
            continue
        lo, hi = int(starts[k + 1]), int(starts[k + 2])  # the mode span follows alpha's
        heaps = (hi - lo) - len(enc["means"])
        chosen = rows[:, lo:hi].argmax(axis=1) - heaps
        for m, train in enumerate(enc["alpha_quantiles"]):
            mine = rows[chosen == m, starts[k]]
            if train and len(mine) >= MIN_ROWS:
                g = np.quantile(mine, LEVELS)
                # Strictly increasing, as np.interp needs: ties (a bunched G) spread by 1e-9.
                g = np.maximum.accumulate(g + 1e-9 * np.arange(len(g)))
                maps.append(ModeMap(int(starts[k]), (lo, hi), heaps + m, g, np.asarray(train)))
    return maps


def apply_maps(rows: np.ndarray, maps: list[ModeMap]) -> np.ndarray:
    """G's rows with each mode's alphas mapped to the train rows' quantiles."""
    rows = np.array(rows, dtype=np.float64)
    for m in maps:
        hit = rows[:, m.modes[0] : m.modes[1]].argmax(axis=1) == m.mode
        rows[hit, m.alpha] = np.interp(rows[hit, m.alpha], m.g, m.train)
    return rows

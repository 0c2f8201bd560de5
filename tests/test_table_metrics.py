"""Synthetic-table metrics against references and the cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from ganmodels.tabular.metrics import (
    column_shapes,
    detection_auc,
    distance_to_closest_record,
    ks_complement,
    ml_efficacy,
    pair_trends,
    tv_complement,
)

COLUMNS = [
    {"name": "x", "kind": "continuous"},
    {"name": "y", "kind": "continuous"},
    {"name": "c", "kind": "categorical"},
    {"name": "d", "kind": "categorical"},
]


def _table(n: int, seed: int) -> pd.DataFrame:
    """x and y correlated; d depends on c; c predictable from x."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    c = np.where(x > 0.3, "hi", np.where(x < -0.3, "lo", "mid"))
    d = np.where(rng.random(n) < 0.9, np.char.add(c.astype(str), "-d"), "other")
    return pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.5, n), "c": c, "d": d})


def _independent(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column shuffled alone: the same marginals, no relations (the baseline to beat)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({k: df[k].to_numpy()[rng.permutation(len(df))] for k in df})


def test_ks_and_tv_complements_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 500), rng.normal(0.3, 1, 400)
    assert abs(ks_complement(a, b) - (1 - ks_2samp(a, b).statistic)) < 1e-12
    assert ks_complement(a, a) == 1.0 and ks_complement(a, a + 100) == 0.0
    real = pd.Series(["a"] * 6 + ["b"] * 3 + [None])
    fake = pd.Series(["a"] * 5 + ["c"] * 5)
    # |.6-.5| + |.3-0| + |.1-0| + |0-.5| = 1.0 -> TVD 0.5
    assert abs(tv_complement(real, fake) - 0.5) < 1e-12


def test_shapes_and_trends_are_perfect_on_real_data_and_trends_catch_independence() -> None:
    real = _table(3000, 0)
    assert all(v == 1.0 for v in column_shapes(real, real, COLUMNS).values())
    assert all(abs(v - 1.0) < 1e-12 for v in pair_trends(real, real, COLUMNS).values())
    shuffled = _independent(real, 1)
    assert all(v == 1.0 for v in column_shapes(real, shuffled, COLUMNS).values())
    trends = pair_trends(real, shuffled, COLUMNS)
    assert trends["x|y"] < 0.6  # r ~ 0.97 vs ~ 0
    assert trends["c|d"] < 0.6 and trends["x|c"] < 0.6


def test_detection_cannot_tell_fresh_real_rows_but_tells_shifted_ones() -> None:
    real, again = _table(1000, 0), _table(1000, 1)
    assert abs(detection_auc(real, again, COLUMNS) - 0.5) < 0.06
    shifted = again.assign(x=again.x + 1.0)
    assert detection_auc(real, shifted, COLUMNS) > 0.75


def test_ml_efficacy_and_dcr_on_copies_and_fresh_draws() -> None:
    train, holdout, fresh = _table(1500, 0), _table(500, 1), _table(1500, 2)
    good = ml_efficacy(fresh, train, holdout, COLUMNS, target="c")
    assert good["f1_real"] > 0.9 and good["ratio"] > 0.95
    broken = fresh.assign(c=np.random.default_rng(3).permutation(fresh.c.to_numpy()))
    assert ml_efficacy(broken, train, holdout, COLUMNS, target="c")["ratio"] < 0.6

    copied = distance_to_closest_record(train, train, holdout, COLUMNS)
    assert copied["synthetic_median"] == 0.0 and copied["share_closer_than_holdout_p5"] == 1.0
    honest = distance_to_closest_record(fresh, train, holdout, COLUMNS)
    assert 0.7 < honest["ratio"] < 1.3 and honest["share_closer_than_holdout_p5"] < 0.1

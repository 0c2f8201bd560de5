"""Synthetic-table metrics against references and the cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from ganmodels.tabular.metrics import (
    column_detection,
    column_shapes,
    detection_auc,
    distance_to_closest_record,
    ks_complement,
    marginals,
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


def test_pair_trends_compare_the_same_levels_when_one_table_lacks_one() -> None:
    real = _table(3000, 0)
    real.loc[real.index[:12], "c"] = None  # a rare null, as Chile's education has
    fake = real.iloc[12:]  # the same rows without it: every pair nearly as real's
    trends = pair_trends(real, fake, COLUMNS)
    assert min(trends[k] for k in ("c|d", "x|c", "y|c")) > 0.99, trends


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


def test_the_boosted_detector_sees_what_no_line_separates() -> None:
    real, again = _table(1000, 0), _table(1000, 1)
    assert abs(detection_auc(real, again, COLUMNS, model="boosted") - 0.5) < 0.06
    assert detection_auc(real, again.assign(x=again.x + 1.0), COLUMNS, model="boosted") > 0.95
    # Amounts rounded to multiples of 5 in the real rows, any value in the fake ones: the same
    # distribution to a line (and to the column-shape score), plain to the boosted detector.
    rng = np.random.default_rng(2)
    amounts = rng.gamma(4.0, 50.0, 1000)
    rounded = real.assign(x=np.round(amounts / 5) * 5)
    unrounded = again.assign(x=rng.gamma(4.0, 50.0, 1000))
    assert detection_auc(rounded, unrounded, COLUMNS) < 0.6
    assert detection_auc(rounded, unrounded, COLUMNS, model="boosted") > 0.75  # 0.79 measured
    # The column that gives the rows away is named: x alone, the others indistinguishable.
    per_column = column_detection(rounded, unrounded, COLUMNS)
    assert max(per_column, key=per_column.__getitem__) == "x" and per_column["x"] > 0.8
    assert all(abs(per_column[c] - 0.5) < 0.08 for c in ("y", "c", "d"))


def test_the_marginals_floor_keeps_each_column_and_loses_the_relations() -> None:
    train = _table(3000, 0)
    floor = marginals(train, 2000, seed=1)
    assert len(floor) == 2000 and list(floor.dtypes) == list(train.dtypes)
    assert (
        set(floor.c) <= set(train.c) and min(column_shapes(train, floor, COLUMNS).values()) > 0.95
    )
    assert pair_trends(train, floor, COLUMNS)["x|y"] < 0.6
    holdout = _table(500, 2)
    efficacy = ml_efficacy(floor, train, holdout, COLUMNS, target="c")
    # The majority class for every row: its class's F1 alone, over three classes.
    share = (holdout.c == train.c.mode().iloc[0]).mean()
    assert abs(efficacy["f1_majority"] - 2 * share / (1 + share) / 3) < 1e-9
    assert efficacy["f1_synthetic"] < 0.6 < efficacy["f1_real"]

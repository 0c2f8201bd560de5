"""Share calibration (ganmodels/tabular/shares.py): each column's choice shares kept at prepare,
G's rows kept by their raking weight, so every column's levels, heaps, modes and nulls come at
the train rows' shares at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ganmodels.tabular.conditions import ConditionLayout
from ganmodels.tabular.nets import TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import TableSampler
from ganmodels.tabular.shares import MIN_KEEP, choices, fit_raking
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.read import infer_schema


def _table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A zero-inflated amount, a skewed city and a sometimes-missing plan."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.3, 0.0, np.round(50 + rng.gamma(3.0, 5.0, n), 2))
    city = rng.choice(["Oslo", "Lima", "Pune"], n, p=[0.7, 0.2, 0.1])
    plan = pd.Series(rng.choice(["basic", "gold"], n, p=[0.8, 0.2]), dtype=object)
    plan[rng.random(n) < 0.25] = None
    return pd.DataFrame({"amount": amount, "city": city, "plan": plan})


def _fit(df: pd.DataFrame) -> TableTransformer:
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50)]
    return TableTransformer.fit(df, columns, rules=RuleSettings(0.99, 0.01, 30, True, 0.8))


def _shares(df: pd.DataFrame) -> dict[str, pd.Series]:
    """What a user counts: the zero share, the city shares, the plan shares with missing."""
    return {
        "amount": pd.Series({"zero": float((df["amount"] == 0).mean())}),
        "city": df["city"].value_counts(normalize=True),
        "plan": df["plan"].fillna("<null>").value_counts(normalize=True),
    }


def _gap(a: dict[str, pd.Series], b: dict[str, pd.Series]) -> float:
    return max(float((a[k] - b[k].reindex(a[k].index, fill_value=0)).abs().max()) for k in a)


def test_prepare_keeps_each_columns_choice_shares_with_null_last() -> None:
    df = _table()
    t = _fit(df)
    assert set(t.shares) == {"amount", "city", "plan"}
    for name, shares in t.shares.items():
        assert abs(sum(shares) - 1) < 1e-4, name
    assert abs(t.shares["plan"][-1] - df["plan"].isna().mean()) < 1e-6  # null is the last
    assert TableTransformer.from_dict(t.to_dict()).shares == t.shares


def test_raking_gives_the_weighted_batch_every_columns_target_shares() -> None:
    rng = np.random.default_rng(0)
    # Two dependent columns, both off their targets: one alone cannot be fixed.
    a = rng.choice(3, 20_000, p=[0.6, 0.3, 0.1])
    b = np.where(rng.random(20_000) < 0.7, a % 2, rng.integers(0, 2, 20_000))
    codes = {"a": a, "b": b}
    target = {"a": [0.2, 0.3, 0.5], "b": [0.5, 0.5]}
    raking = fit_raking(codes, target)
    w = raking.weights(codes)
    for name, want in target.items():
        got = np.bincount(codes[name], weights=w) / w.sum()
        np.testing.assert_allclose(got, want, atol=0.01)


def test_raking_of_a_generator_far_off_the_shares_is_tempered_to_keep_enough_rows() -> None:
    rng = np.random.default_rng(0)
    codes = {"a": rng.choice(3, 20_000, p=[0.985, 0.01, 0.005])}  # undertrained G's rows
    target = [0.1, 0.3, 0.6]
    raking = fit_raking(codes, {"a": target})
    w = raking.weights(codes)
    kept = w.mean() / raking.cap
    assert MIN_KEEP - 0.001 <= kept < 2 * MIN_KEEP  # tempered to the floor, no further
    got = np.bincount(codes["a"], weights=w) / w.sum()
    drawn = np.bincount(codes["a"]) / 20_000
    # Part way from G's shares toward the train rows' (the full raking would keep 1 in 100).
    assert np.abs(got - target).max() < 0.5 * np.abs(drawn - target).max()


def test_a_calibrated_sampler_draws_the_train_shares_reproducibly() -> None:
    df = _table()
    t = _fit(df)
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(1)
    cond = ConditionLayout(t.spans, False).cond_dim
    G = TabularGenerator(4, spans, cond_dim=cond, hidden=(8,)).eval()  # untrained
    G.head.bias.data += torch.linspace(-2, 2, t.width)  # and lopsided: far-off shares
    plain, calibrated = TableSampler(G, t), TableSampler(G, t, calibrate=True)
    assert plain.raking is None and calibrated.raking is not None
    real = _shares(df)
    drawn = [s.sample(4000, seed=3) for s in (plain, calibrated)]
    assert _gap(real, _shares(drawn[0])) > 0.15  # what G draws on its own
    assert _gap(real, _shares(drawn[1])) < 0.04  # within sampling error and the weight cap
    again = TableSampler(G, t, calibrate=True).sample(4000, seed=3)
    pd.testing.assert_frame_equal(drawn[1], again)
    assert len(calibrated.sample(7, seed=0)) == 7


def test_choices_read_a_row_as_decoding_does() -> None:
    df = _table(200)
    t = _fit(df)
    codes = choices(t.transform(df), t.spans, t.heap_entries())
    plan = t.encoders[[c["name"] for c in t.columns].index("plan")]["levels"]
    want = [plan.index(v) if isinstance(v, str) else len(plan) for v in df["plan"]]
    np.testing.assert_array_equal(codes["plan"], want)
    assert ((codes["amount"] == 0) == (df["amount"] == 0)).all()  # the heap at 0 is choice 0

"""Calibration of G's values within each mixture mode (ganmodels/tabular/calibration.py): the
train rows' quantiles kept at prepare, G's mapped onto them by a sampler, ranks kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ganmodels.tabular.calibration import LEVELS, apply_maps, fit_maps
from ganmodels.tabular.metrics import ks_complement
from ganmodels.tabular.nets import TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import TableSampler
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.read import infer_schema


def _table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Two well-apart modes of a skewed amount, and a city."""
    rng = np.random.default_rng(seed)
    high = rng.random(n) < 0.4
    amount = np.where(high, 500 + rng.gamma(2.0, 20.0, n), 50 + rng.gamma(3.0, 5.0, n))
    return pd.DataFrame({"amount": amount, "city": rng.choice(["Oslo", "Lima"], n)})


def _fit(df: pd.DataFrame) -> TableTransformer:
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50)]
    return TableTransformer.fit(df, columns, rules=RuleSettings(0.99, 0.01, 30, True, 0.8))


def test_prepare_keeps_each_modes_alpha_quantiles() -> None:
    df = _table()
    t = _fit(df)
    enc = t.encoders[0]
    assert len(enc["alpha_quantiles"]) == len(enc["means"]) >= 2
    rows = t.transform(df)
    mode = rows[:, 1 : 1 + len(enc["means"])].argmax(axis=1)
    for m, q in enumerate(enc["alpha_quantiles"]):
        np.testing.assert_allclose(q, np.quantile(rows[mode == m, 0], LEVELS), atol=1e-5)


def test_bunched_alphas_are_mapped_onto_the_train_rows_keeping_their_order() -> None:
    df = _table()
    t = _fit(df)
    rows = t.transform(_table(seed=1)).astype(np.float64)
    rows[:, 0] = 0.3 * rows[:, 0] + 0.1  # what a G does: the right modes, bunched inside them
    bunched = t.inverse_transform(rows)["amount"].to_numpy()
    maps = fit_maps(rows, t)
    assert len(maps) == len(t.encoders[0]["means"])
    fixed = apply_maps(rows, maps)
    back = t.inverse_transform(fixed)["amount"].to_numpy()
    real = df["amount"].to_numpy()
    assert ks_complement(real, bunched) < 0.85 < 0.97 < ks_complement(real, back)
    same_mode = fixed[:, 1:3].argmax(axis=1) == rows[:, 1:3].argmax(axis=1)
    assert same_mode.all()  # modes stay G's, and the order within each stays
    for m in range(len(maps)):
        hit = rows[:, 1 + m] == 1
        order = np.argsort(rows[hit, 0], kind="stable")
        assert (np.diff(fixed[hit, 0][order]) >= -1e-12).all()


def test_a_calibrated_sampler_draws_the_train_spread_reproducibly() -> None:
    df = _table()
    t = _fit(df)
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(0)
    G = TabularGenerator(4, spans, cond_dim=2, hidden=(8,)).eval()  # untrained: any spread
    plain, calibrated = TableSampler(G, t), TableSampler(G, t, calibrate=True)
    assert not plain.maps and calibrated.maps
    real = df["amount"].to_numpy()
    drawn = [s.sample(2000, seed=3)["amount"].to_numpy() for s in (plain, calibrated)]
    assert ks_complement(real, drawn[1]) > ks_complement(real, drawn[0])
    again = TableSampler(G, t, calibrate=True).sample(2000, seed=3)["amount"].to_numpy()
    np.testing.assert_array_equal(drawn[1], again)

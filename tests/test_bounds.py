"""Ranges under a premise (ganmodels/tabular/bounds.py): prepare finds "income is null => age
<= 14" only where the data holds it, writes it to transformer.json, and every way of sampling
keeps only rows inside it, at the train rows' shares."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ganmodels.tabular.conditions import ConditionLayout
from ganmodels.tabular.nets import TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import TableSampler
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.prepare import prepare_table
from pipeline.kinds.tabular.read import infer_schema
from pipeline.kinds.tabular.shards import TRANSFORMER
from tests.helpers import data_config

SETTINGS = RuleSettings(0.99, 0.01, 30, True, 0.8, bounds=True)


def _people(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Children (under 15) have no income; only adults (18+) marry; city and score are free."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 91, n)
    income = pd.Series(np.round(rng.lognormal(10, 0.6, n), -2)).mask(age < 15)
    married = np.where((age >= 18) & (rng.random(n) < 0.6), "yes", "no")
    return pd.DataFrame({"age": age, "income": income, "married": married,
                         "city": rng.choice(["Oslo", "Lima", "Pune"], n),
                         "score": rng.normal(0, 1, n).round(3)})  # fmt: skip


def _fit(df: pd.DataFrame, settings: RuleSettings = SETTINGS) -> TableTransformer:
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50)]
    return TableTransformer.fit(df, columns, rules=settings)


def _keeps(rows: pd.DataFrame) -> None:
    """Every row keeps the table's ranges."""
    assert (rows["age"][rows["income"].isna()] <= 14).all()
    assert (rows["age"][rows["income"].notna()] >= 15).all()
    assert (rows["age"][rows["married"] == "yes"] >= 18).all()


def test_prepare_finds_the_ranges_the_data_holds_and_no_others(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    df = _people()
    df["months"] = df["age"] * 12  # derived from age: its ranges would repeat age's
    df.to_csv(tmp_path / "t.csv", index=False)
    prepare_table(data_config(kind="tabular", source="t.csv"), tmp_path / "out", tmp_path)
    found = json.loads((tmp_path / "out" / TRANSFORMER).read_text())["bounds"]
    ranges = {(b["if"]["column"], repr(b["if"].get("null", b["if"].get("value"))), b["column"]):
              (b["min"], b["max"]) for b in found}  # fmt: skip
    assert ranges[("income", "True", "age")] == (0.0, 14.0)
    assert ranges[("income", "False", "age")] == (15.0, 90.0)
    assert ranges[("married", "'yes'", "age")] == (18.0, 90.0)
    # Nothing narrows by chance: no range of the free score, none under a city.
    assert all(b["column"] != "score" and b["if"]["column"] != "city" for b in found)
    assert all(b["column"] != "months" for b in found)
    assert all(b["rows"] >= 20 and b["outside"] >= 0.05 for b in found)
    off = tmp_path / "off"
    off.mkdir()
    prepare_table(data_config(kind="tabular", source="t.csv", find_bounds=False), off, tmp_path)
    assert json.loads((off / TRANSFORMER).read_text())["bounds"] == []


def test_every_way_of_sampling_keeps_only_rows_inside_them_at_the_train_shares() -> None:
    df = _people()
    t = TableTransformer.from_dict(_fit(df).to_dict())  # as an export loads it
    assert t.bounds and t.in_bounds(t.transform(df), df).all()  # real rows keep them
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(0)
    cond = ConditionLayout(t.spans, False).cond_dim
    G = TabularGenerator(4, spans, cond_dim=cond, hidden=(8,)).eval()  # untrained
    raw = G(torch.randn(4000, 4), torch.zeros(4000, cond), generator=torch.Generator()).detach()
    drawn = t.inverse_transform(raw.numpy())
    assert (~t.in_bounds(raw.numpy(), drawn)).mean() > 0.1  # G alone breaks them often
    plain, calibrated = TableSampler(G, t), TableSampler(G, t, calibrate=True)
    for rows in (plain.sample(3000, seed=1), calibrated.sample(3000, seed=1),
                 plain.sample(500, seed=2, column="married", value="yes")):  # fmt: skip
        assert len(rows) in (3000, 500)
        _keeps(rows)
    rows = calibrated.sample(3000, seed=1)
    for name, real in (("married", df["married"] == "yes"), ("income", df["income"].isna())):
        got = rows["married"] == "yes" if name == "married" else rows["income"].isna()
        assert abs(got.mean() - real.mean()) < 0.05, name
    pd.testing.assert_frame_equal(rows, TableSampler(G, t, calibrate=True).sample(3000, seed=1))
    assert TableTransformer.from_dict(_fit(df, RuleSettings(0.99, 0.01, 30, True, 0.8))
                                      .to_dict()).bounds == []  # fmt: skip


def test_a_draw_whose_rows_never_keep_the_bounds_fails_naming_them() -> None:
    state = _fit(_people()).to_dict()
    income = [b for b in state["bounds"] if b["if"]["column"] == "income" and b["column"] == "age"]
    state["bounds"] = [{**b, "min": 200.0, "max": 200.0} for b in income]  # no age reaches it
    t = TableTransformer.from_dict(state)
    cond = ConditionLayout(t.spans, False).cond_dim
    G = TabularGenerator(4, [(s.activation, s.width) for s in t.spans], cond_dim=cond, hidden=(8,))
    with pytest.raises(ValueError, match="drawn kept the transformer.s bounds .* income -> age"):
        TableSampler(G.eval(), t).sample(100, seed=0)

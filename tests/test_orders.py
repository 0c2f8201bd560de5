"""Orders between numeric columns (ganmodels/tabular/orders.py): found at prepare only where the
data holds them and chance would not, written to transformer.json, kept by every decoded row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.prepare import prepare_table
from pipeline.kinds.tabular.read import TableError, infer_schema
from pipeline.kinds.tabular.shards import TRANSFORMER, load_transformer
from tests.helpers import data_config

SETTINGS = RuleSettings(0.99, 0.01, 30, True, 0.8, implication_share=0.99, order_share=0.99)


def _loans(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A housing ratio never above the total ratio (20% of it at 0.6); a free ratio; years
    beyond both ranges."""
    rng = np.random.default_rng(seed)
    housing = np.round(rng.uniform(0.1, 0.5, n), 2)
    total = np.round(housing + rng.gamma(2.0, 0.05, n), 2)
    return pd.DataFrame(
        {
            "total": np.where(rng.random(n) < 0.2, 0.6, total),  # at least housing; heaped
            "housing": housing,
            "other": np.round(rng.uniform(0.0, 1.0, n), 2),  # below either in a share of rows
            "years": rng.integers(5, 30, n),  # always above the ratios: their ranges say so
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        }
    )


def _fit(
    df: pd.DataFrame, declared: dict[str, dict] | None = None
) -> tuple[TableTransformer, dict[str, dict]]:
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50)]
    t = TableTransformer.fit(df, columns, rules=SETTINGS, declared=declared)
    return t, {c["name"]: e for c, e in zip(t.columns, t.encoders, strict=True)}


def _prepared(tmp_path: Path, df: pd.DataFrame, **overrides: Any) -> dict[str, dict]:
    (tmp_path / "out").mkdir(parents=True, exist_ok=True)
    df.to_csv(tmp_path / "t.csv", index=False)
    cfg = data_config(kind="tabular", source="t.csv", **overrides)
    prepare_table(cfg, tmp_path / "out", tmp_path)
    state = json.loads((tmp_path / "out" / TRANSFORMER).read_text())
    assert load_transformer(tmp_path / "out").encoders == state["encoders"]
    return {c["name"]: e for c, e in zip(state["columns"], state["encoders"], strict=True)}


def test_prepare_finds_the_order_the_data_holds_and_no_other(tmp_path: Path) -> None:
    encoders = _prepared(tmp_path, _loans())
    ordered = {name: e["at_least"] for name, e in encoders.items() if "at_least" in e}
    assert ordered == {"total": "housing"}
    total = encoders["total"]
    assert total["min"] >= 0 and total["own"]["step"] == 0.01  # the excess's rules, its own
    assert total["own"]["min"] == float(_loans()["total"].min())
    assert total["own_heaps"] == [0.6] and 0.6 in total["own"]["heaps"]  # a mode of its own
    off = _prepared(tmp_path / "off", _loans(), order_share=0.0)
    assert not any("at_least" in e for e in off.values())
    with pytest.raises(ValueError, match="order_share"):
        data_config(kind="tabular", source="t.csv", order_share=0.3)


def test_any_generator_output_decodes_to_rows_that_keep_it_and_real_rows_exactly() -> None:
    df = _loans()
    t, _ = _fit(df)
    rows = t.inverse_transform(np.random.default_rng(1).normal(0, 1.5, (5000, t.width)))
    assert (rows["total"] >= rows["housing"]).all()
    assert np.allclose(rows["total"] * 100, np.round(rows["total"] * 100), atol=1e-6)
    assert rows["total"].between(df["total"].min(), df["total"].max()).all()
    assert rows["total"].nunique() > 50  # the excess is generated, not a constant
    back = t.inverse_transform(t.transform(df))
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_a_column_an_implication_holds_keeps_its_exact_values_and_takes_no_order() -> None:
    rng = np.random.default_rng(2)
    idle = rng.random(2000) < 0.3  # no hours <=> no earnings; earnings always above hours
    df = pd.DataFrame(
        {
            "hours": np.where(idle, 0, rng.normal(1900, 250, 2000).round()).astype(np.int64),
            "earnings": np.where(idle, 0, rng.lognormal(10, 0.5, 2000).round(-2)),
        }
    )
    t, encoders = _fit(df)
    assert not any("at_least" in e for e in encoders.values())
    assert {(r["if"]["column"], r["then"]["column"]) for r in t.implications} >= {
        ("hours", "earnings")
    }


def test_declared_orders_are_kept_and_checked_at_prepare(tmp_path: Path) -> None:
    declared = {"other": {"at_least": "housing"}}  # not so in the data: declared wins
    _, encoders = _fit(_loans(), declared=declared)
    assert encoders["other"]["at_least"] == "housing" and encoders["total"]["at_least"] == "housing"
    bad = {
        "itself": {"total": {"at_least": "total"}},
        "'city' is categorical": {"total": {"at_least": "city"}},
        "'nope' is not a column": {"total": {"at_least": "nope"}},
        "is itself at least": {"total": {"at_least": "other"}, "other": {"at_least": "housing"}},
    }
    for i, (what, columns) in enumerate(bad.items()):
        with pytest.raises(TableError, match=what):
            _prepared(tmp_path / str(i), _loans(), columns=columns)
    holes = _loans()
    holes.loc[7, "housing"] = np.nan
    with pytest.raises(ValueError, match="row 8 has a value in 'total' and none in 'housing'"):
        _fit(holes, declared={"total": {"at_least": "housing"}})


def test_an_upper_columns_own_heaps_decode_exactly_at_their_share() -> None:
    df = _loans()
    t, encoders = _fit(df)
    total = encoders["total"]
    (heap,) = [k for k, s in enumerate(t.spans) if s.column == "total" and s.role == "mode"]
    at = sum(s.width for s in t.spans[:heap]) + len(total["heaps"])  # the own heap's entry
    rows = t.transform(df)
    assert rows[:, at].mean() == pytest.approx((df["total"] == 0.6).mean())  # its share
    rows = np.random.default_rng(3).normal(0, 1.5, (4000, t.width))
    rows[:2000, at] = 10.0  # G picks the own heap in half the rows
    back = t.inverse_transform(rows)
    assert (back["total"][:2000] == 0.6).all()  # exactly, and the order holds
    assert (back["total"] >= back["housing"]).all()
    assert (back["total"][2000:] == 0.6).mean() < 0.5  # elsewhere the excess decides

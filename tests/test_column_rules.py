"""Value rules of numeric columns (ganmodels/tabular/rules.py): prepare learns each column's
step, heaps, levels and range into transformer.json, data.columns overrides them, and decoded
rows, from any generator output and from a short fit, keep only values the rules allow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganmodels.tabular.conditions import ConditionLayout
from ganmodels.tabular.nets import TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import TableSampler
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.prepare import prepare_table
from pipeline.kinds.tabular.read import TableError, infer_schema
from pipeline.kinds.tabular.shards import TRANSFORMER, load_transformer
from tests.helpers import data_config, short_table_fit

SHARES = {0.0: 0.5, 1000.0: 0.2, 2000.0: 0.1}  # amount's heaps; the other 20% spread
SETTINGS = RuleSettings(0.99, 0.01, max_levels=30, derived=True, support_share=0.8)


def _ruled(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Zero-inflated, heaped amounts in hundreds; prices in cents; a 14-value rating."""
    rng = np.random.default_rng(seed)
    heap = rng.choice([0.0, 1000.0, 2000.0, -1.0], n, p=[*SHARES.values(), 0.2])
    spread = rng.choice(np.arange(3, 91) * 100.0, n)  # 300..9000, never a heap
    amount = np.where(heap < 0, spread, heap).astype(np.int64)
    amount[0] = 9000  # the range's top, present
    price = np.round(rng.uniform(1, 50, n), 2)
    rating = rng.integers(1, 15, n)
    city = rng.choice(["Oslo", "Lima", "Pune"], n)
    return pd.DataFrame({"amount": amount, "price": price, "rating": rating, "city": city})


def _prepared(tmp_path: Path, **columns: object) -> tuple[TableTransformer, dict]:
    (tmp_path / "out").mkdir(parents=True)
    _ruled().to_csv(tmp_path / "t.csv", index=False)
    prepare_table(data_config(kind="tabular", source="t.csv", columns=columns), tmp_path / "out",
                  tmp_path)  # fmt: skip
    state = json.loads((tmp_path / "out" / TRANSFORMER).read_text())
    by_name = {c["name"]: e for c, e in zip(state["columns"], state["encoders"], strict=True)}
    return load_transformer(tmp_path / "out"), by_name


def test_prepare_learns_step_heaps_levels_and_range_into_transformer_json(tmp_path: Path) -> None:
    _, rules = _prepared(tmp_path)
    amount = rules["amount"]
    assert amount["step"] == 100 and amount["heaps"] == [0.0, 1000.0, 2000.0]
    assert amount["heap_shares"] == pytest.approx(list(SHARES.values()), abs=0.04)
    assert (amount["min"], amount["max"], amount["levels"]) == (0.0, 9000.0, False)
    assert rules["price"]["step"] == 0.01 and rules["price"]["heaps"] == []
    assert rules["rating"]["levels"] and sorted(rules["rating"]["heaps"]) == list(range(1, 15))
    assert rules["rating"]["means"] == []  # levels only: no continuous part
    assert all(r["declared"] == [] for r in (amount, rules["price"], rules["rating"]))


def test_data_columns_override_learned_rules_and_refuse_them_on_discrete_columns(
    tmp_path: Path,
) -> None:
    declared = {"amount": {"step": 500.0, "heaps": [0.0], "max": 5000.0}, "price": {"step": 0.0}}
    _, rules = _prepared(tmp_path, **declared)
    amount = rules["amount"]
    assert (amount["step"], amount["heaps"], amount["max"]) == (500.0, [0.0], 5000.0)
    assert amount["heap_shares"] == pytest.approx([0.5], abs=0.04)  # measured, not declared
    assert amount["declared"] == ["heaps", "max", "step"]
    assert rules["price"]["step"] is None  # 0: no rounding
    with pytest.raises(TableError, match=r"data.columns.city: step apply to numeric columns"):
        _prepared(tmp_path / "again", city={"step": 5.0})


def _check_rules(rows: pd.DataFrame) -> None:
    """Only values the learned rules allow: steps, levels, range."""
    amount = rows["amount"].to_numpy(dtype=np.float64)
    assert (amount % 100 == 0).all() and amount.min() >= 0 and amount.max() <= 9000
    cents = rows["price"].to_numpy() * 100
    assert np.allclose(cents, np.round(cents), atol=1e-6) and rows["price"].between(1, 50).all()
    assert set(rows["rating"]) <= set(range(1, 15))


def test_any_generator_output_decodes_to_allowed_values_and_real_rows_exactly(
    tmp_path: Path,
) -> None:
    t, rules = _prepared(tmp_path)
    noise = np.random.default_rng(1).uniform(-3, 3, (5000, t.width))  # far outside tanh's range
    _check_rules(t.inverse_transform(noise))
    real = _ruled()
    back = t.inverse_transform(t.transform(real))
    # amount's values recur: it keeps to its train values (a holdout-only one goes to the
    # nearest), and the real rows' train values come back exactly.
    seen = real["amount"].isin(rules["amount"]["support"])
    assert seen.mean() > 0.99 and (back["amount"][seen] == real["amount"][seen]).all()
    assert (back["rating"] == real["rating"]).all()
    # The remainder is exact too, but for a tail value beyond alpha's 4 stds of its mode.
    assert ((back["price"] - real["price"]).abs() < 1e-9).mean() > 0.99


def test_a_short_fit_generates_the_heaps_at_their_shares() -> None:
    df = _ruled()
    cols = [c.to_dict() for c in infer_schema(df, "t", 50)]
    t = TableTransformer.fit(df, cols, max_modes=5, rules=SETTINGS)
    rows = short_table_fit(t, df, 300, d_hidden=(256, 256), dropout=0.5)
    _check_rules(rows)
    for value, share in SHARES.items():  # exact values, about as often as in the data
        assert abs((rows["amount"] == value).mean() - share) < 0.1, value


def test_a_levels_column_is_discrete_conditioned_on_and_sampled_by_value(tmp_path: Path) -> None:
    t, _ = _prepared(tmp_path)
    assert [s.role for s in t.spans if s.column == "rating"] == ["level"]
    layout = ConditionLayout(t.spans)
    assert layout.columns == ["rating", "city"]  # training-by-sampling asks for its levels too
    spans = [(s.activation, s.width) for s in t.spans]
    G = TabularGenerator(8, spans, layout.cond_dim, (16,)).eval()
    rows = TableSampler(G, t).sample(50, seed=0, column="rating", value="3")
    assert (rows["rating"] == 3).all() and len(rows) == 50


def _linked(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """Two columns computed from others (F from C; log income, missing where income is) and a
    correlated one that is no function of anything."""
    rng = np.random.default_rng(seed)
    celsius = np.round(rng.normal(12, 8, n), 2)
    income = np.round(rng.lognormal(10, 0.6, n), 0)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "celsius": celsius,
            "income": income,
            "fahrenheit": np.round(celsius * 1.8 + 32, 3),
            "log_income": np.log(income),
            "humidity": np.round(60 - celsius + rng.normal(0, 5, n), 1),
        }
    )


def _prepare_linked(tmp_path: Path, **overrides: object) -> tuple[TableTransformer, dict]:
    (tmp_path / "out").mkdir(parents=True)
    _linked().to_csv(tmp_path / "t.csv", index=False)
    cfg = data_config(kind="tabular", source="t.csv", **overrides)
    prepare_table(cfg, tmp_path / "out", tmp_path)
    state = json.loads((tmp_path / "out" / TRANSFORMER).read_text())
    by_name = {c["name"]: e for c, e in zip(state["columns"], state["encoders"], strict=True)}
    return load_transformer(tmp_path / "out"), by_name


def test_columns_that_are_functions_of_others_are_computed_not_generated(tmp_path: Path) -> None:
    t, rules = _prepare_linked(tmp_path)
    found = {name: enc.get("derived_from") for name, enc in rules.items()}
    assert found == {
        "celsius": None,
        "income": None,
        "fahrenheit": "celsius",
        "log_income": "income",
        "humidity": None,
    }
    assert {s.column for s in t.spans} == {"celsius", "income", "humidity"}
    # Any generator output decodes to rows that keep both relations exactly where the real
    # rows have them (within the lookup table's interpolation), nulls included.
    noise = np.random.default_rng(2).normal(0, 1.5, (3000, t.width))
    rows = t.inverse_transform(noise)
    assert list(rows.columns) == list(_linked().columns)
    assert np.allclose(rows["fahrenheit"], rows["celsius"] * 1.8 + 32, atol=2e-3)
    has = rows["income"].notna()
    assert 0 < has.mean() < 1 and rows["log_income"].isna().equals(~has)
    # Linear between the train rows' knots: exact at them, close where they are dense, and
    # monotone everywhere (the sparse top of a log-normal is where the chord strays most).
    income, logged = rows["income"][has].to_numpy(), rows["log_income"][has].to_numpy()
    error = np.abs(logged - np.log(income))
    assert np.median(error) < 1e-5 and error.max() < 0.01
    assert (np.diff(logged[np.argsort(income)]) >= 0).all()
    # Turned off, every column is generated.
    t_off, _ = _prepare_linked(tmp_path / "off", find_derived=False)
    assert {s.column for s in t_off.spans} == set(_linked().columns)


def test_declared_derived_columns_are_checked_at_prepare(tmp_path: Path) -> None:
    _, rules = _prepare_linked(
        tmp_path, find_derived=False, columns={"humidity": {"derived_from": "celsius"}}
    )
    assert rules["humidity"]["derived_from"] == "celsius" and "fahrenheit" not in {
        r.get("derived_from") for r in rules.values()
    }
    assert rules["humidity"]["declared"] == ["derived_from"]
    bad = {
        "itself": {"humidity": {"derived_from": "humidity"}},
        "not a column": {"humidity": {"derived_from": "wind"}},
        "is derived itself": {
            "fahrenheit": {"derived_from": "celsius"},
            "humidity": {"derived_from": "fahrenheit"},
        },
    }
    for i, (why, columns) in enumerate(bad.items()):
        with pytest.raises(TableError, match=rf"data.columns.humidity.derived_from: .*{why}"):
            _prepare_linked(tmp_path / str(i), columns=columns)


def test_a_column_whose_values_recur_generates_only_its_train_values() -> None:
    rng = np.random.default_rng(4)
    ratios = np.round(rng.uniform(0.2, 1.2, 150), 6)  # e.g. loan/value of round amounts
    df = pd.DataFrame(
        {
            "ratio": rng.choice(ratios, 2000),  # every row's value recurs
            "price": np.round(rng.uniform(1, 50, 2000), 2),  # a third of the rows' values recur
        }
    )
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50)]
    t = TableTransformer.fit(df, columns, rules=SETTINGS)
    rules = {c["name"]: e for c, e in zip(t.columns, t.encoders, strict=True)}
    assert rules["ratio"]["support"] == sorted(set(df["ratio"]))
    assert rules["price"]["support"] is None
    rows = t.inverse_transform(np.random.default_rng(5).normal(0, 1.5, (5000, t.width)))
    assert set(rows["ratio"]) <= set(df["ratio"]) and rows["ratio"].nunique() > 100
    assert rows["price"].nunique() > 1000  # the others keep their continuous remainder
    # Declared: off for one column, on for another, and narrowed by a declared range.
    declared = {"ratio": {"support": False}, "price": {"support": True, "max": 25.0}}
    t = TableTransformer.fit(df, columns, rules=SETTINGS, declared=declared)
    rules = {c["name"]: e for c, e in zip(t.columns, t.encoders, strict=True)}
    assert rules["ratio"]["support"] is None
    assert rules["price"]["support"] == sorted(v for v in set(df["price"]) if v <= 25.0)

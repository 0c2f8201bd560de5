"""Tabular data: schema inference, every bad input named with its column and row, and the
mode-specific transformer's round trip (values within tolerance, categories and nulls exact)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganmodels.tabular.transformer import TableTransformer
from pipeline.config import DataConfig
from pipeline.data import read_schema
from pipeline.kinds.tabular.read import TableError, infer_schema, read_table
from pipeline.kinds.tabular.shards import load_table_split, load_transformer
from pipeline.prepare import prepare
from tests.helpers import BIN, data_config, write_params


def _mixed(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bimodal = np.where(rng.random(n) < 0.3, rng.normal(-5, 0.5, n), rng.normal(10, 2, n))
    income = rng.lognormal(10, 0.5, n)
    income[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "bimodal": bimodal,
            "age": rng.integers(18, 90, n),
            "income": income,
            "city": rng.choice(["Lima", "Oslo", "Pune"], n),
            "member": rng.choice(["yes", "no"], n),
            "joined": pd.Series(pd.date_range("2020-01-01", periods=n, freq="7h")).dt.strftime(
                "%Y-%m-%d %H:%M"
            ),
            "rating": rng.integers(1, 6, n),
        }
    )


def _schema(df: pd.DataFrame, **kw) -> dict[str, tuple[str, bool]]:
    return {c.name: (c.kind, c.nullable) for c in infer_schema(df, "t.csv", 50, **kw)}


def test_schema_is_inferred_per_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _mixed().to_csv(path, index=False)
    df = read_table(str(path), tmp_path)
    assert _schema(df) == {
        "bimodal": ("continuous", False),
        "age": ("integer", False),
        "income": ("continuous", True),
        "city": ("categorical", False),
        "member": ("boolean", False),
        "joined": ("datetime", False),
        "rating": ("categorical", False),  # 5 distinct integers: levels, not a mixture
    }
    # A declared kind wins over inference.
    assert _schema(df, declared={"rating": "integer"})["rating"] == ("integer", False)
    # The same from Parquet; and the embedded default table needs no file at all.
    _mixed().to_parquet(tmp_path / "t.parquet")
    assert _schema(read_table("t.parquet", tmp_path)) == _schema(df)
    penguins = _schema(read_table("penguins", tmp_path))
    assert penguins["species"] == ("categorical", False)
    assert penguins["bill_length_mm"] == ("continuous", True)
    assert penguins["sex"] == ("categorical", True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda df: df.assign(income=df.income.where(df.index != 2, np.inf)), r"column 'income'.*"
         r"infinite value inf in row 3"),
        (lambda df: df.assign(age=df.age.astype(object).where(df.index != 6, "abc")),
         r"column 'age'.*numeric column has text 'abc' in row 7"),
        (lambda df: df.assign(empty=np.nan), r"column 'empty'.*entirely null"),
        (lambda df: df.assign(city=[f"c{i}" for i in range(len(df))]),
         r"column 'city'.*600 distinct values, more than data.max_categories=50"),
    ],
)  # fmt: skip
def test_bad_values_fail_naming_column_and_row(tmp_path: Path, edit, message: str) -> None:
    edit(_mixed()).to_csv(tmp_path / "members.csv", index=False)
    with pytest.raises(TableError, match=r"^members\.csv, " + message):  # the file, then the rest
        infer_schema(read_table("members.csv", tmp_path), "members.csv", 50)


def test_bad_files_and_keys_fail_naming_them(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TableError, match=r"empty.csv: the file is empty"):
        read_table("empty.csv", tmp_path)
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(TableError, match=r"header.csv: no data rows \(columns: a, b\)"):
        read_table("header.csv", tmp_path)
    with pytest.raises(TableError, match=r"data.source 'nope.csv': no such file"):
        read_table("nope.csv", tmp_path)
    with pytest.raises(TableError, match=r"data.label names column 'target'.*columns: bimodal"):
        infer_schema(_mixed(), "t.csv", 50, label="target")
    with pytest.raises(TableError, match=r"data.columns names column 'x'"):
        infer_schema(_mixed(), "t.csv", 50, declared={"x": "integer"})


def test_transformer_round_trip_keeps_values_categories_nulls_and_dtypes() -> None:
    df = _mixed(2000)
    df["joined"] = pd.to_datetime(df["joined"])
    df.loc[df.index % 9 == 0, "city"] = None
    columns = [c.to_dict() for c in infer_schema(df, "t", 50)]
    t = TableTransformer.fit(df, columns, seed=0)
    rows = t.transform(df)
    assert rows.shape == (len(df), t.width) and rows.dtype == np.float32
    assert np.abs(rows).max() <= 1.0
    # Mode-specific normalization found both modes of the bimodal column.
    means = sorted(t.encoders[0]["means"])
    assert any(abs(m + 5) < 0.5 for m in means) and any(abs(m - 10) < 1.0 for m in means)

    # The state is plain JSON, and a reloaded transformer inverts identically.
    back = TableTransformer.from_dict(json.loads(json.dumps(t.to_dict()))).inverse_transform(rows)
    assert list(back.columns) == list(df.columns)
    for name in ("bimodal", "income"):
        assert back[name].isna().equals(df[name].isna())
        np.testing.assert_allclose(back[name], df[name], rtol=1e-5, atol=1e-4)
    assert (back["age"] == df["age"]).all() and back["age"].dtype == df["age"].dtype
    assert back["city"].isna().equals(df["city"].isna())
    assert (back["city"].dropna() == df["city"].dropna()).all()
    assert (back["member"] == df["member"]).all()  # a text boolean keeps its words
    assert back["member"].dtype == df["member"].dtype
    assert (back["rating"] == df["rating"]).all() and back["rating"].dtype == df["rating"].dtype
    # Seconds since 1970 pass through a float32 alpha: a few seconds of rounding.
    assert (back["joined"] - df["joined"]).abs().max() < pd.Timedelta(seconds=60)


def test_transform_names_an_unknown_category() -> None:
    df = _mixed(100)
    t = TableTransformer.fit(df, [c.to_dict() for c in infer_schema(df, "t", 50)])
    with pytest.raises(ValueError, match=r"column 'city', row 4: value 'Rome' is not among"):
        t.transform(df.assign(city=df.city.where(df.index != 3, "Rome")))


def _data_cfg(**over) -> DataConfig:
    return data_config(**{"kind": "tabular", "source": "penguins", **over})


def test_prepare_writes_typed_shards_schema_and_transformer(tmp_path: Path) -> None:
    out = tmp_path / "prepared"
    schema = prepare(_data_cfg(label="species", rows_per_shard=100), out, tmp_path)
    assert schema == read_schema(out)  # schema.json written (last), equal to what was returned
    assert schema["kind"] == "tabular" and schema["rows"]["total"] == 344
    assert schema["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    hist = schema["class_histogram"]
    assert sum(hist[s]["Adelie"] for s in ("train", "validation", "holdout")) == 152
    assert schema["rows"]["validation"] == 28  # a tenth of the 275 non-holdout rows
    assert abs(hist["holdout"]["Gentoo"] / 124 - 0.2) < 0.01  # stratified split
    assert schema["column_stats"]["sex"]["nulls"] > 0  # missing values kept, not dropped

    source = read_table("penguins", tmp_path)
    train, val, hold = (load_table_split(out, s) for s in ("train", "validation", "holdout"))
    assert len(schema["shards"]["train"]) == 3  # 247 rows, 100 per shard
    every = list(source.columns)  # the same rows, types and missing values, in another order
    both = pd.concat([train, val, hold]).sort_values(every).reset_index(drop=True)
    pd.testing.assert_frame_equal(both, source.sort_values(every).reset_index(drop=True))

    t = load_transformer(out)
    assert t.width == schema["encoded_width"]
    back = t.inverse_transform(t.transform(train))
    assert (back["species"] == train["species"]).all()
    np.testing.assert_allclose(back["body_mass_g"], train["body_mass_g"], rtol=1e-5)
    # Same params, same bytes: the data hash is reproducible.
    assert (
        prepare(_data_cfg(label="species", rows_per_shard=100), out, tmp_path)["data_hash"]
        == (schema["data_hash"])
    )


def test_a_numeric_label_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    _mixed().to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "p"
    for label, declared, kind in (
        ("age", {}, "integer"),
        ("bimodal", {}, "continuous"),
        ("rating", {"rating": "integer"}, "integer"),  # levels by inference, declared numeric
    ):
        cfg = _data_cfg(source="t.csv", label=label, columns=declared)
        refused = rf"data.label '{label}' is a {kind} column: the label must be categorical"
        with pytest.raises(TableError, match=refused):
            prepare(cfg, out, tmp_path)
        assert list(out.iterdir()) == []  # no shard, no schema.json


def test_prepare_stage_names_the_bad_column_and_the_label_key(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"data.label 'sex' is a nullable categorical column"):
        prepare(_data_cfg(label="sex"), tmp_path / "p", tmp_path)
    bad = _mixed().assign(income=lambda d: d.income.where(d.index != 4, np.inf))
    bad.to_csv(tmp_path / "bad.csv", index=False)
    over = {"data": {"kind": "tabular", "source": "bad.csv"}, "model": {"preset": "ctgan"}}
    params = write_params(tmp_path / "params.yaml", over)
    run = subprocess.run(
        [str(BIN / "gan"), "prepare", "--params", str(params)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "column 'income'" in run.stderr and "infinite value inf in row 5" in run.stderr
    assert not (tmp_path / "data/prepared/schema.json").exists()


def test_evaluate_refuses_a_generator_of_other_data(tmp_path: Path, monkeypatch) -> None:
    import torch

    from pipeline import paths
    from pipeline.evaluate import load_generator_state

    monkeypatch.chdir(tmp_path)
    paths.GENERATOR.parent.mkdir()
    torch.save({"model_config": {}, "state_dict": {}, "data_hash": "a" * 64}, paths.GENERATOR)
    with pytest.raises(
        ValueError,
        match=r"trained on other data \(hash aaaaaaaaaaaa.*bbbbbbbbbbbb\): rerun `dvc repro train`",
    ):
        load_generator_state(paths.GENERATOR, "b" * 64)

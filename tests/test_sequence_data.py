"""Sequences in: every bad input named by file, column, sequence id and row; the scaling and
variable lengths survive prepare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganmodels.sequence.scaling import Scaling, lengths
from pipeline.data import SPLITS
from pipeline.errors import DataError
from pipeline.kinds.sequence.read import read_source
from pipeline.kinds.sequence.shards import load_split
from pipeline.prepare import prepare
from tests.helpers import data_config


def _long_frame(lengths_: list[int], seed: int = 0) -> pd.DataFrame:
    """Long format: id, t, two channels and a per-sequence label."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, n in enumerate(lengths_):
        parts.append(
            pd.DataFrame(
                {
                    "unit": f"u{i}",
                    "t": np.arange(n) * 10,
                    "temp": rng.normal(20, 3, n).round(3),
                    "load": rng.uniform(0, 100, n).round(2),
                    "kind": "ab"[i % 2],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _cfg(source: Path | str, **over: object) -> object:
    keys = {"kind": "sequence", "source": str(source), "id_column": "unit", "time_column": "t"}
    return data_config(**{**keys, "label": "kind", **over})


def _error(tmp_path: Path, frame: pd.DataFrame, **over: object) -> str:
    path = tmp_path / "seq.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_source(_cfg(path, **over), tmp_path)
    assert str(path) in str(err.value)
    return str(err.value)


def test_bad_long_tables_are_refused_naming_column_sequence_and_row(tmp_path: Path) -> None:
    good = _long_frame([5, 4, 6])
    nan = good.copy()
    nan.loc[6, "load"] = np.nan  # u1's second step: data row 7
    assert "column 'load', sequence 'u1', row 7" in _error(tmp_path, nan)
    inf = good.copy()
    inf.loc[0, "temp"] = np.inf
    assert "column 'temp', sequence 'u0', row 1" in _error(tmp_path, inf)
    short = _long_frame([5, 1, 6])
    assert "sequence 'u1' (row 6) has 1 step: need >= 2" in _error(tmp_path, short)
    split = pd.concat([good.iloc[:3], good.iloc[5:9], good.iloc[3:5], good.iloc[9:]])
    assert "sequence 'u0' (column 'unit') starts again at row 8" in _error(tmp_path, split)
    again = good.copy()
    again.loc[2, "t"] = 10
    assert "sequence 'u0', row 3: time 10 (column 't') repeats" in _error(tmp_path, again)
    varies = good.copy()
    varies.loc[7, "kind"] = "a"  # u1 is of kind b
    assert "row 8: label column 'kind' changes within the sequence" in _error(tmp_path, varies)
    text = good.assign(load=good["load"].astype(str) + "kW")
    assert "channel column 'load' is not numeric" in _error(tmp_path, text)
    assert "data.id_column 'unit_id' is not a column" in _error(tmp_path, good, id_column="unit_id")


def test_windows_and_arrays_are_checked(tmp_path: Path) -> None:
    series = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) ** 0.5})
    path = tmp_path / "series.csv"
    series.to_csv(path, index=False)
    cfg = _cfg(path, id_column=None, time_column=None, label=None, window=24, stride=3)
    windows = read_source(cfg, tmp_path)
    assert windows.values.shape == (3, 24, 2) and windows.values[2, 0, 0] == 6.0
    with pytest.raises(DataError, match=r"data.window 31 is longer than the series \(30 rows\)"):
        read_source(_cfg(path, id_column=None, time_column=None, label=None, window=31), tmp_path)
    with pytest.raises(DataError, match="set data.window"):
        read_source(_cfg(path, id_column=None, time_column=None, label=None), tmp_path)

    array = np.random.default_rng(0).normal(size=(4, 6, 3))
    array[1, 4:] = np.nan  # sequence 1 lasts 4 steps: fine
    np.save(tmp_path / "ok.npy", array)
    got = read_source(_cfg(tmp_path / "ok.npy"), tmp_path)
    assert lengths(got.values).tolist() == [6, 4, 6, 6]
    inside = array.copy()
    inside[2, 3, 1] = np.nan
    np.save(tmp_path / "bad.npy", inside)
    with pytest.raises(DataError, match=r"bad.npy: sequence 2, step 3: NaN inside the sequence"):
        read_source(_cfg(tmp_path / "bad.npy"), tmp_path)
    gap = array.copy()
    gap[3, 2] = np.nan  # a whole step missing in the middle
    np.save(tmp_path / "gap.npy", gap)
    with pytest.raises(DataError, match=r"gap.npy: sequence 3, step 2: NaN inside"):
        read_source(_cfg(tmp_path / "gap.npy"), tmp_path)


def test_scaling_round_trip_keeps_values_and_ends() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(50, 20, (8, 10, 3))
    values[:, :, 2] = 7.0  # a constant channel survives too
    values[3, 6:] = np.nan
    scaling = Scaling.fit(values)
    model = scaling.to_model(values)
    assert model.shape == (8, 10, 4) and model[..., :-1].min() >= -1 and model[..., :-1].max() <= 1
    assert (model[3, 6:] == 0).all() and model[3, :, -1].sum() == 6
    back = scaling.to_data(model)
    np.testing.assert_allclose(back, values, rtol=1e-5, atol=1e-4)  # NaN where NaN
    assert (
        Scaling.from_dict(json.loads(json.dumps(scaling.to_dict()))).to_dict() == scaling.to_dict()
    )


def test_variable_lengths_survive_prepare(tmp_path: Path) -> None:
    frame = _long_frame([3 + (i * 7) % 11 for i in range(40)])
    frame.to_csv(tmp_path / "seq.csv", index=False)
    cfg = _cfg(tmp_path / "seq.csv", holdout_fraction=0.25)
    schema = prepare(cfg, tmp_path / "prepared", tmp_path)
    source = read_source(cfg, tmp_path)
    assert schema["kind"] == "sequence" and schema["seq_len"] == 13
    assert schema["channels"] == ["temp", "load"] and schema["class_names"] == ["a", "b"]
    assert schema["lengths"] == {"min": 3, "max": 13, "mean": float(lengths(source.values).mean())}
    train, val, hold = (load_split(tmp_path / "prepared", s) for s in SPLITS)
    assert len(train[0]) == 27 and len(val[0]) == 3 and len(hold[0]) == 10
    both = np.concatenate([train[0], val[0], hold[0]])
    # Every source sequence comes back once, values (float32), lengths and NaN tails intact.
    by_key = {tuple(np.nan_to_num(s[:, 0], nan=-1)): s for s in source.values.astype(np.float32)}
    for seq in both:
        want = by_key[tuple(np.nan_to_num(seq[:, 0], nan=-1))]
        np.testing.assert_array_equal(seq, want)
    assert sorted(lengths(both).tolist()) == sorted(lengths(source.values).tolist())
    # The scaling is fitted on the train split only.
    assert schema["scaling"]["max"][0] == pytest.approx(float(np.nanmax(train[0][..., 0])))


def test_no_validation_share_leaves_an_empty_validation_split(tmp_path: Path) -> None:
    """data.validation_fraction: 0 (the TimeGAN benchmark's) writes an empty validation split
    that loads as [0, T, C]; every other sequence is in train or the holdout."""
    frame = _long_frame([3 + (i * 7) % 11 for i in range(40)])
    frame.to_csv(tmp_path / "seq.csv", index=False)
    cfg = _cfg(tmp_path / "seq.csv", holdout_fraction=0.25, validation_fraction=0.0)
    schema = prepare(cfg, tmp_path / "prepared", tmp_path)
    train, val, hold = (load_split(tmp_path / "prepared", s)[0] for s in SPLITS)
    assert val.shape == (0, 13, 2) and schema["rows"]["validation"] == 0
    assert len(train) == 30 and len(hold) == 10


def test_static_columns_are_checked_and_become_constant_channels(tmp_path: Path) -> None:
    frame = _long_frame([5, 4, 6]).assign(site=lambda f: f["unit"].map({"u0": "x", "u1": "y",
                                                                        "u2": "x"}),
                                          volume=lambda f: f["unit"].map({"u0": 1.5, "u1": 2.0,
                                                                          "u2": 3.0}))  # fmt: skip
    statics = {"static_columns": ["volume", "site"]}
    varies = frame.copy()
    varies.loc[7, "site"] = "x"  # u1's third step (data row 8); u1 is at site y
    assert (
        "sequence 'u1', row 8: static column 'site' changes within the sequence ('y' -> 'x')"
        in _error(tmp_path, varies, **statics)
    )
    nan = frame.copy()
    nan.loc[nan["unit"] == "u2", "volume"] = np.nan  # u2 starts at data row 10
    assert "static column 'volume', sequence 'u2', row 10: nan is not a finite number" in _error(
        tmp_path, nan, **statics
    )
    assert "data.static_columns 'depth' is not a column" in _error(
        tmp_path, frame, static_columns=["depth"]
    )
    frame.to_csv(tmp_path / "seq.csv", index=False)
    data = read_source(_cfg(tmp_path / "seq.csv", **statics), tmp_path)
    assert data.channels == ["temp", "load", "volume", "site=x", "site=y"]
    assert [s["column"] for s in data.statics] == ["volume", "site"]
    assert data.statics[1] == {"column": "site", "kind": "categorical", "channels": [3, 4],
                               "levels": ["x", "y"]}  # fmt: skip
    u1 = data.values[1]
    assert (u1[:4, 2:] == [2.0, 0.0, 1.0]).all() and np.isnan(u1[4:]).all()
    with pytest.raises(DataError, match=r"static columns need a long-format table"):
        read_source(_cfg(tmp_path / "seq.csv", id_column=None, **statics), tmp_path)


def test_static_columns_may_not_double_as_other_columns() -> None:
    with pytest.raises(
        ValueError,
        match=r"data.static_columns \['kind'\]: also id/time/label columns",
    ):
        data_config(kind="sequence", label="kind", static_columns=["kind"])


def test_channels_that_follow_an_earlier_one_are_found_on_train(tmp_path: Path) -> None:
    """A copy, a unit conversion and a log of a channel are derived from it; a channel with
    few distinct values (chance) or an independent one is not; find_derived: false finds none."""
    frame = _long_frame([12] * 40)
    frame["copy"] = frame["load"]
    frame["temp_f"] = frame["temp"] * 1.8 + 32
    frame["log_load"] = np.log1p(frame["load"])
    frame["flag"] = (frame["load"] > 50).astype(float)  # a function of load, but 2 values
    frame["noise"] = np.random.default_rng(1).normal(size=len(frame))
    frame.to_csv(tmp_path / "seq.csv", index=False)
    schema = prepare(_cfg(tmp_path / "seq.csv"), tmp_path / "prepared", tmp_path)
    found = {d["column"]: d["source_column"] for d in schema["derived"]}
    assert found == {"copy": "load", "temp_f": "temp", "log_load": "load"}
    spec = {d["column"]: d for d in schema["derived"]}
    assert len(spec["copy"]["knots_x"]) == 2 and len(spec["temp_f"]["knots_x"]) == 2  # affine
    assert len(spec["log_load"]["knots_x"]) > 2  # curved: a lookup table
    off = prepare(_cfg(tmp_path / "seq.csv", find_derived=False), tmp_path / "p2", tmp_path)
    assert off["derived"] == []

"""params.yaml validation: every bad key is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_params
from tests.helpers import params_error, repo_params

REPO = Path(__file__).resolve().parents[1]

_raw, _error = repo_params, params_error  # short names: every test uses them


def test_repo_params_are_valid() -> None:
    p = load_params(REPO / "params.yaml")
    assert p.train.batch_size % p.train.num_workers == 0
    assert p.data.source == "digits"


def test_unknown_key_is_named() -> None:
    raw = _raw()
    raw["train"]["learning_rate"] = 0.1
    assert "train.learning_rate: unknown key" in _error(raw)


def test_unknown_section_is_named() -> None:
    raw = _raw()
    raw["serve"] = {}
    assert "serve: unknown key" in _error(raw)


def test_wrong_type_is_named() -> None:
    raw = _raw()
    raw["train"]["steps"] = "many"
    assert "train.steps" in _error(raw)


def test_float_for_int_is_refused() -> None:
    raw = _raw()
    raw["train"]["steps"] = 10.5
    assert "train.steps" in _error(raw)


def test_zero_workers_is_named() -> None:
    raw = _raw()
    raw["train"]["num_workers"] = 0
    assert "train.num_workers" in _error(raw)


def test_batch_not_divisible_by_workers() -> None:
    raw = _raw()
    raw["train"]["num_workers"] = 3
    msg = _error(raw)
    assert "train.batch_size (128) must be divisible by train.num_workers (3)" in msg


def test_image_size_power_of_two() -> None:
    raw = _raw()
    raw["data"]["image_size"] = 12
    assert "data.image_size must be a power of two" in _error(raw)


def test_bad_enum_is_named() -> None:
    raw = _raw()
    raw["data"]["on_bad_file"] = "ignore"
    assert "data.on_bad_file" in _error(raw)


def test_missing_key_is_named() -> None:
    raw = _raw()
    del raw["register"]["min_improvement"]
    assert "register.min_improvement: Field required" in _error(raw)


def test_several_errors_reported_together() -> None:
    raw = _raw()
    raw["train"]["lr_g"] = -1.0
    raw["evaluate"]["knn_k"] = 0
    msg = _error(raw)
    assert "train.lr_g" in msg and "evaluate.knn_k" in msg


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)


def test_config_is_frozen() -> None:
    p = load_params(REPO / "params.yaml")
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is internal
        p.train.steps = 1  # type: ignore[misc]


def test_scientific_notation_is_a_float(tmp_path: Path) -> None:
    # `dvc exp run -S train.lr_g=0.0000001` writes `lr_g: 1e-07`, which plain PyYAML reads as a
    # str.
    text = (REPO / "params.yaml").read_text().replace("lr_g: null", "lr_g: 1e-07")
    (tmp_path / "params.yaml").write_text(text)
    assert load_params(tmp_path / "params.yaml").train.lr_g == 1e-07


def test_use_gpu_accepts_auto_and_booleans(tmp_path: Path) -> None:
    for text, want in (("auto", "auto"), ("true", True), ("false", False)):
        src = (REPO / "params.yaml").read_text().replace("use_gpu: auto", f"use_gpu: {text}")
        (tmp_path / "params.yaml").write_text(src)
        assert load_params(tmp_path / "params.yaml").train.use_gpu == want
    raw = _raw()
    raw["train"]["use_gpu"] = "sometimes"
    assert "train.use_gpu" in _error(raw)

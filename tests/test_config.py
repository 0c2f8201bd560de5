"""params.yaml validation: every bad key is named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, load_params, parse_params

REPO = Path(__file__).resolve().parents[1]


def _raw() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_params(raw)
    return str(exc.value)


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


def test_preset_fills_nulls_and_explicit_keys_win() -> None:
    raw = _raw()
    raw["model"]["preset"] = "best"
    best = raw["presets"]["best"]
    p = parse_params(raw)
    assert p.model.architecture == best["model"]["architecture"]
    assert p.train.objective == best["train"]["objective"]
    raw["train"]["lr_d"] = 0.0123  # as `dvc exp run -S train.lr_d=0.0123` writes it
    raw["model"]["architecture"] = "mlp"
    p = parse_params(raw)
    assert (p.train.lr_d, p.model.architecture) == (0.0123, "mlp")
    assert p.train.lr_g == best["train"]["lr_g"]


def test_every_preset_is_complete_and_valid() -> None:
    for name in _raw()["presets"]:
        raw = _raw()
        raw["model"]["preset"] = name
        if name == "ctgan":
            raw["data"]["kind"] = "tabular"
        assert parse_params(raw).model.preset == name


def test_unknown_preset_and_bad_preset_keys_are_named() -> None:
    raw = _raw()
    raw["model"]["preset"] = "fastest"
    assert "model.preset: unknown preset 'fastest'" in _error(raw)
    raw = _raw()
    raw["presets"]["best"]["train"]["lr"] = 0.1
    assert "presets.best.train.lr: unknown key" in _error(raw)


def test_null_without_preset_is_named() -> None:
    raw = _raw()
    raw["kinds"]["image"]["model"] = {}  # no preset from the kind either
    msg = _error(raw)
    assert "model.architecture: null" in msg and "train.objective: null" in msg


def test_inconsistent_recipes_are_refused() -> None:
    raw = _raw()
    raw["train"]["ada_target"] = 0.6
    raw["train"]["augment"] = []
    assert "train.augment" in _error(raw)
    raw = _raw()
    raw["train"].update(compile=True, r1_gamma=1.0)
    assert "train.compile" in _error(raw)
    raw = _raw()
    raw["train"]["augment"] = ["rotate"]
    assert "train.augment.0" in _error(raw)


def test_penalties_need_a_d_without_batch_norm() -> None:
    raw = _raw()
    raw["model"].update(preset="dcgan", spectral_norm=False)
    raw["train"]["gp_weight"] = 10.0
    assert "model.spectral_norm: true" in _error(raw)
    raw["model"]["spectral_norm"] = True
    assert parse_params(raw).train.gp_weight == 10.0


def test_inception_features_need_the_fid_gate_metric() -> None:
    raw = _raw()
    raw["evaluate"]["feature_extractor"] = "inception"
    assert "register.primary_metric: fid" in _error(raw)
    raw["register"]["primary_metric"] = "fid"
    assert parse_params(raw).evaluate.feature_extractor == "inception"


def test_data_kind_alone_switches_data_recipe_and_gate() -> None:
    raw = _raw()
    raw["data"]["kind"] = "tabular"  # what `dvc exp run -S data.kind=tabular` writes
    p = parse_params(raw)
    assert (p.data.source, p.model.preset, p.model.architecture) == ("penguins", "ctgan", "ctgan")
    assert p.train.batch_size == raw["presets"]["ctgan"]["train"]["batch_size"]
    assert (p.register.primary_metric, p.register.higher_is_better) == ("quality_score", True)
    assert p.register.model_name == "gan-penguins"
    raw["data"]["source"] = "loans.csv"  # a key set in its section wins over the kind's
    raw["register"]["model_name"] = "loans"
    p = parse_params(raw)
    assert (p.data.source, p.register.model_name, p.model.preset) == ("loans.csv", "loans", "ctgan")
    p = parse_params(_raw())
    assert (p.data.source, p.model.preset, p.register.primary_metric) == (
        "digits",
        "best",
        "fd_digits",
    )
    raw = _raw()
    raw["kinds"]["tabular"]["data"]["sources"] = "x"
    assert "kinds.tabular.data.sources: unknown key" in _error(raw)
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    del raw["kinds"]["tabular"]
    assert "kinds: no entry for data.kind 'tabular'" in _error(raw)


def test_tables_need_the_ctgan_recipe() -> None:
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    raw["model"]["preset"] = "best"
    assert "model.architecture dcgan does not fit data.kind tabular" in _error(raw)
    raw["model"]["preset"] = "ctgan"
    raw["train"]["batch_size"] = 128  # 64 rows per worker
    assert "must be a multiple of 10 for tables" in _error(raw)
    raw["train"]["batch_size"] = 100
    raw["train"]["augment"] = ["color"]
    assert "tables take no train.augment" in _error(raw)
    raw = _raw()
    raw["model"]["preset"] = "ctgan"  # on images
    assert "model.architecture ctgan does not fit data.kind image" in _error(raw)

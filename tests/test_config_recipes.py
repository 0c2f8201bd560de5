"""params.yaml's recipes and kinds: presets and data.kind fill null keys, a key set by hand
wins, and combinations a kind cannot run (or a gate evaluate never writes) are refused at load,
naming the keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import kinds
from pipeline.config import parse_params
from tests.helpers import params_error, repo_params

REPO = Path(__file__).resolve().parents[1]

_raw, _error = repo_params, params_error  # short names: every test uses them


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
        architecture = raw["presets"][name]["model"]["architecture"]
        (kind,) = (k for k, v in kinds.KINDS.items() if architecture in v.architectures)
        raw["data"]["kind"] = kind  # the kind that trains the preset's networks
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
    assert parse_params(raw).register.primary_metric == "fd"  # fd is the FID then
    raw["register"]["primary_metric"] = "fd_digits"  # only written for the classifier's space
    msg = _error(raw)
    assert "register.primary_metric 'fd_digits' is not a metric that evaluate writes" in msg
    assert "names its FD 'fid': set register.primary_metric: fd" in msg
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
    assert (p.data.source, p.model.preset, p.register.primary_metric) == ("digits", "best", "fd")
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
    raw["train"]["augment"] = []
    parse_params(raw)  # the recipe is valid without them
    raw["model"]["conditional"] = True
    assert "tables take no train.augment and no model.conditional" in _error(raw)
    raw = _raw()
    raw["model"]["preset"] = "ctgan"  # on images
    assert "model.architecture ctgan does not fit data.kind image" in _error(raw)


def test_model_name_derives_from_the_source() -> None:
    raw = _raw()
    assert parse_params(raw).register.model_name == "gan-digits"
    raw["data"]["source"] = "data/My Photos.v2/"  # a folder: its name, sanitised
    p = parse_params(raw)
    assert (p.register.model_name, p.register.primary_metric) == ("gan-my-photos-v2", "fd")
    raw["data"]["source"] = "data/Fotos Ñandú/"
    assert parse_params(raw).register.model_name == "gan-fotos-nandu"
    raw["data"]["source"] = "."
    assert parse_params(raw).register.model_name == "gan-data"
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    assert parse_params(raw).register.model_name == "gan-penguins"
    raw["data"]["source"] = "/srv/exports/Loans_2024.csv"  # a file: its stem
    assert parse_params(raw).register.model_name == "gan-loans-2024"
    raw["register"]["model_name"] = "loans"  # set by hand: it wins
    assert parse_params(raw).register.model_name == "loans"


def test_a_model_name_mlflow_refuses_is_named() -> None:
    for bad in ("team/gan", "gan:v2", "gan@prod", "..", " ", "x" * 242):
        raw = _raw()
        raw["register"]["model_name"] = bad
        assert "register.model_name" in _error(raw), bad
    raw = _raw()
    raw["data"]["source"] = 5  # no derived name to complain about: only data.source is named
    msg = _error(raw)
    assert "data.source" in msg and "model_name" not in msg


def test_a_gate_metric_evaluate_never_writes_is_refused() -> None:
    raw = _raw()
    raw["data"]["source"] = "data/flowers"
    raw["register"]["primary_metric"] = "fd_digits"  # the old default, kept by hand
    msg = _error(raw)
    assert "register.primary_metric 'fd_digits' is not a metric that evaluate writes" in msg
    assert "names its FD 'fd_flowers'" in msg
    raw["register"]["primary_metric"] = "fd_flowers"  # the source-named key still gates
    assert parse_params(raw).register.primary_metric == "fd_flowers"
    raw["register"]["primary_metric"] = "per_class"  # a nested block, not a number
    assert "'per_class' is not a metric" in _error(raw)
    raw["register"]["primary_metric"] = "num_samples"  # written, but a count
    assert "is a count or a reference value" in _error(raw)
    raw["register"].update(primary_metric="label_accuracy", higher_is_better=True)
    assert parse_params(raw).register.primary_metric == "label_accuracy"
    raw["model"]["conditional"] = False
    assert "label_accuracy needs model.conditional: true" in _error(raw)
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    raw["register"]["primary_metric"] = "fd"  # an image metric on a table
    assert "'fd' is not a metric that evaluate writes for data.kind tabular" in _error(raw)


def test_the_gate_direction_must_agree_with_the_metric() -> None:
    raw = _raw()
    raw["register"]["primary_metric"] = "precision"  # the kind's higher_is_better is false
    assert "set register.higher_is_better: true" in _error(raw)
    raw["register"]["higher_is_better"] = True
    assert parse_params(raw).register.higher_is_better
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    raw["register"]["higher_is_better"] = False
    assert "contradicts register.primary_metric quality_score" in _error(raw)


def test_gate_metrics_are_the_ones_evaluate_writes() -> None:
    from pipeline.kinds import get
    from pipeline.metric_names import check_written

    written = get("image").metrics_written
    names = written("data/My Photos", "classifier", conditional=True)
    assert {"fd", "fd_floor", "fd_ratio", "fd_my_photos", "fd_my_photos_ratio"} <= set(names)
    inception = written("digits", "inception", conditional=False)
    assert {"fid", "fd"} <= set(inception) and "label_accuracy" not in inception
    floor = written(
        "data/floor", "classifier", conditional=False
    )  # a folder whose name is a generic suffix
    assert {"fd_floor", "fd_floor_data", "fd_floor_data_floor"} <= set(floor)
    with pytest.raises(RuntimeError, match=r"undeclared \['fd_new'\].*not written \['kid'\]"):
        check_written({**dict.fromkeys(names, 1.0), "fd_new": 1.0, "kid": {}}, names)


def test_tables_refuse_export_best_and_knn_needs_samples() -> None:
    raw = _raw()
    raw["data"]["kind"] = "tabular"
    raw["train"]["export"] = "best"
    assert "train.export: best needs the best-checkpoint probe" in _error(raw)
    assert "data.kind: tabular" in _error(raw)
    raw = _raw()
    raw["evaluate"].update(num_samples=10, knn_k=10)
    assert "evaluate.knn_k/density_k (10) must be below evaluate.num_samples (10)" in _error(raw)

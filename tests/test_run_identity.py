"""Run identity: a run resumes only the checkpoints of its own key (pipeline/loop.py refuses
another's), so the key must change with whatever changes the trained weights, and only then."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import code_graph, run_identity
from pipeline.config import Params, load_params

REPO = Path(__file__).resolve().parents[1]
DATA = "d" * 64


def _with(params: Params, section: str, **values: object) -> Params:
    return params.model_copy(update={section: getattr(params, section).model_copy(update=values)})


def test_run_key_changes_with_params_code_and_data_but_not_bookkeeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = load_params(REPO / "params.yaml")
    key = run_identity.run_key(params, DATA)
    assert run_identity.run_key(load_params(REPO / "params.yaml"), DATA) == key  # stable
    assert run_identity.run_key(params, "e" * 64) != key  # other data
    # Result keys are identity; keys for how a run is watched, stored or retried are not.
    assert run_identity.run_key(_with(params, "train", lr_g=params.train.lr_g * 2), DATA) != key
    assert run_identity.run_key(_with(params, "model", z_dim=params.model.z_dim + 1), DATA) != key
    bookkeeping = {"log_every": params.train.log_every + 1, "max_failures": 7, "in_process": False}
    assert run_identity.run_key(_with(params, "train", **bookkeeping), DATA) == key

    # The training code, read from a copy of the files: the same bytes, the same key; one
    # byte more in a file the workers run, a new key; in a file only evaluate runs, the same.
    for package in ("pipeline", "ganmodels"):
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    monkeypatch.setattr(code_graph, "ROOT", tmp_path)
    assert run_identity.run_key(params, DATA) == key
    for name in ("pipeline/kinds/image/evaluate.py", "ganmodels/image/classifier.py"):
        with (tmp_path / name).open("a") as f:
            f.write("\n")
        assert run_identity.run_key(params, DATA) == key, name
    for name in ("ganmodels/losses.py", "pipeline/kinds/tabular/batches.py"):
        with (tmp_path / name).open("a") as f:
            f.write("\n")
        assert run_identity.run_key(params, DATA) != key, name
        key = run_identity.run_key(params, DATA)

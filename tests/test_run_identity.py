"""Run identity: a run resumes only the checkpoints of its own key (pipeline/loop.py refuses
another's), so the key must change with whatever changes the trained weights, and only then."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import train
from pipeline.config import Params, load_params

REPO = Path(__file__).resolve().parents[1]
DATA = "d" * 64


def _with(params: Params, section: str, **values: object) -> Params:
    return params.model_copy(update={section: getattr(params, section).model_copy(update=values)})


def test_run_key_changes_with_params_code_and_data_but_not_bookkeeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = load_params(REPO / "params.yaml")
    key = train.run_key(params, DATA)
    assert train.run_key(load_params(REPO / "params.yaml"), DATA) == key  # stable
    assert train.run_key(params, "e" * 64) != key  # other data
    # Result keys are identity; keys for how a run is watched, stored or retried are not.
    assert train.run_key(_with(params, "train", lr_g=params.train.lr_g * 2), DATA) != key
    assert train.run_key(_with(params, "model", z_dim=params.model.z_dim + 1), DATA) != key
    bookkeeping = {"log_every": params.train.log_every + 1, "max_failures": 7, "in_process": False}
    assert train.run_key(_with(params, "train", **bookkeeping), DATA) == key

    # The training code, read from a copy of the files: the same bytes, the same key; one
    # byte more in one file, a new key.
    for name in train._TRAINING_CODE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    monkeypatch.setattr(train, "__file__", str(tmp_path / "pipeline" / "train.py"))
    assert train.run_key(params, DATA) == key
    with (tmp_path / "ganmodels" / "losses.py").open("a") as f:
        f.write("\n")
    assert train.run_key(params, DATA) != key

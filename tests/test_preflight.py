"""Missing services and resources fail in seconds, before any training, naming what is wrong."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import ray

from pipeline.config import PipelineError, load_params
from pipeline.preflight import check_capacity
from pipeline.prepare import prepare
from pipeline.train import fit
from tests.helpers import BABY, write_params


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def prepared(tmp_path: Path):
    params = load_params(write_params(tmp_path / "params.yaml", BABY))
    prepare(params.data, tmp_path / "prepared")
    return params, tmp_path


def test_unreachable_mlflow_server_fails_before_training(prepared, monkeypatch) -> None:
    params, root = prepared
    uri = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    t0 = time.monotonic()
    with pytest.raises(PipelineError, match=f"MLflow tracking server {uri} .* unreachable"):
        fit(params, root, root / "prepared")
    assert time.monotonic() - t0 < 30
    assert not (root / "ray_runs").exists()  # no training was started


def test_unreachable_ray_address_fails_before_training(prepared, monkeypatch) -> None:
    params, root = prepared
    address = f"127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    t0 = time.monotonic()
    with pytest.raises(PipelineError, match=f"RAY_ADDRESS={address} is unreachable"):
        fit(params, root, root / "prepared")
    assert time.monotonic() - t0 < 30
    assert not (root / "mlflow.db").exists()


def test_more_workers_than_the_cluster_has_fails_within_seconds(tmp_path: Path) -> None:
    # 2 workers of 1 CPU each, on Ray actors (local processes need no cluster to fit in).
    params = load_params(
        write_params(tmp_path / "params.yaml", BABY, {"train": {"in_process": False}})
    )
    root = tmp_path
    prepare(params.data, root / "prepared")
    ray.shutdown()
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        t0 = time.monotonic()
        with pytest.raises(PipelineError, match=r"asks for 2 CPU .* the Ray cluster has 1 CPU"):
            fit(params, root, root / "prepared")
        assert time.monotonic() - t0 < 30
    finally:
        ray.shutdown()


def test_capacity_names_gpus() -> None:
    with pytest.raises(PipelineError, match="asks for 4 GPU .* has 2 GPU"):
        check_capacity(4, {"GPU": 1, "CPU": 1}, {"CPU": 64.0, "GPU": 2.0})
    check_capacity(2, {"GPU": 1, "CPU": 1}, {"CPU": 64.0, "GPU": 2.0})


def test_conditional_model_on_unlabelled_data_names_the_key(prepared) -> None:
    from pipeline.kinds.image.kind import ImageKind

    params, _ = prepared
    schema = {"source": "my_photos", "labeled": False, "num_classes": 0, "shape": [1, 8, 8]}
    with pytest.raises(PipelineError, match="model.conditional: true needs class labels"):
        ImageKind().model_config(params, schema, "unused")

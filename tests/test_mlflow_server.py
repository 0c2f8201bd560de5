"""The whole pipeline against a real `mlflow server` on 127.0.0.1 (a team's tracking server)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipeline.tracking import active_tracking
from tests.helpers import BIN, clean_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real tracking server with its own SQLite store and proxied artifacts; always stopped."""
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, "mlflow server exited"
                assert time.monotonic() < deadline, "mlflow server did not come up in 90 s"
                time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_dvc_repro_tracks_and_registers_on_the_server(project: Path, mlflow_server: str) -> None:
    env = clean_env(MLFLOW_TRACKING_URI=mlflow_server)
    proc = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (project / "mlflow.db").exists()  # nothing went to the local default store

    cli = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    mv = cli.get_model_version_by_alias("gan-digits", "champion")
    run = cli.get_run(mv.run_id)
    assert "loss/D_main" in run.data.metrics and "eval/fd_digits" in run.data.metrics
    assert run.data.params["train.steps"] == "60"
    # Artifacts went through the server too: sample grids per step and the model itself.
    logged = {f.path for f in cli.list_artifacts(mv.run_id, "samples")}
    assert "samples/step_0000030.png" in logged
    with active_tracking(mlflow_server):
        model = mlflow.pyfunc.load_model("models:/gan-digits@champion")
    assert model.predict(pd.DataFrame({"n": [4], "seed": [0]})).shape == (4, 1, 8, 8)
    reg = json.loads((project / "metrics/register.json").read_text())
    assert reg["version"] == int(mv.version)

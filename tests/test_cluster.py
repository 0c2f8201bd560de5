"""Training on a real Ray head (`ray start --head`, 127.0.0.1) tracked by a real MLflow server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipeline.tracking import active_tracking
from tests.conftest import _free_port
from tests.helpers import BABY, BIN, clean_env, write_params


def _ray(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ray"), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A head node with token auth (Ray's default) and its Jobs API; always stopped.

    `ray start --block` in its own process group, so teardown stops this head alone (`ray stop`
    would stop every Ray on the machine).
    """
    port, dash = _free_port(), _free_port()
    head = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            "--num-cpus",
            "2",
            "--port",
            str(port),
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(dash),
            "--include-dashboard",
            "true",
            "--disable-usage-stats",
        ],
        env=clean_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{dash}"
        deadline = time.monotonic() + 90
        while (
            _ray("job", "list", "--address", url, env=clean_env(RAY_AUTH_MODE="token")).returncode
            != 0
        ):
            assert head.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "Jobs API did not come up in 90 s"
            time.sleep(1)
        yield url
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head's GCS, raylet and workers share its group
        try:
            head.wait(timeout=5)  # `ray start --block` lingers after its children exit
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=20)
        # A killed head leaves its address behind for Ray's address lookup: remove ours.
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def _gan(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gan"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


def test_submit_then_dvc_repro_on_the_cluster(
    project: Path, ray_head: str, mlflow_server: str
) -> None:
    # Shared storage as a URI (what s3:// would be on a real cluster), opened by pyarrow.
    shared = (project.parent / "shared").as_uri()
    write_params(project / "params.yaml", BABY, {"train": {"storage_path": shared}})
    env = clean_env(RAY_AUTH_MODE="token", MLFLOW_TRACKING_URI=mlflow_server)
    assert _gan(project, env, "prepare").returncode == 0

    sub = _gan(project, env, "submit", "--address", ray_head)
    out = sub.stdout + sub.stderr
    assert sub.returncode == 0, out
    sid = re.search(r"submit: job (gan-train-\S+)", out).group(1)
    assert f"job {sid} SUCCEEDED" in out
    assert out.count("uploaded prepared data") == 1
    assert "step     60/60" in out  # the job's progress display came through
    assert _gan(project, env, "jobs", "status", sid, "--address", ray_head).stdout.strip() == (
        "SUCCEEDED"
    )
    for rel in ("models/generator.pt", "models/train_run.json", "metrics/train.json"):
        assert (project / rel).is_file(), rel
    run_id = json.loads((project / "models/train_run.json").read_text())["run_id"]
    cli = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    assert cli.get_run(run_id).data.metrics["loss/G_main"] > 0
    # The prepared data was staged once, by content hash.
    schema = json.loads((project / "data/prepared/schema.json").read_text())
    assert (project.parent / "shared/datasets" / schema["data_hash"] / "schema.json").is_file()
    assert list((project.parent / "shared").glob("gan-*/checkpoint_*"))  # Ray's, on the URI

    # dvc repro with RAY_ADDRESS: the train stage submits and waits; its outs come back.
    (project / "models/generator.pt").unlink()
    repro = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=project,
        env={**env, "RAY_ADDRESS": ray_head},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert "submit: job gan-train-" in repro.stdout and "SUCCEEDED" in repro.stdout
    assert "uploaded prepared data" not in repro.stdout  # content-addressed: uploaded once
    assert (project / "models/generator.pt").is_file()
    # Same training identity on the same storage: the job resumed the finished run.
    assert json.loads((project / "models/train_run.json").read_text())["run_id"] == run_id
    mv = cli.get_model_version_by_alias("gan-digits", "champion")
    assert mv.run_id == run_id
    # Everything went to the team server: nothing to a local store; artifacts through the server.
    assert not (project / "mlflow.db").exists()
    assert "eval/fd_digits" in cli.get_run(run_id).data.metrics
    logged = {f.path for f in cli.list_artifacts(run_id, "samples")}
    assert "samples/step_0000030.png" in logged
    with active_tracking(mlflow_server):
        model = mlflow.pyfunc.load_model("models:/gan-digits@champion")
    assert model.predict(pd.DataFrame({"n": [4], "seed": [0]})).shape == (4, 1, 8, 8)


def test_jobs_stop_ends_a_running_job(project: Path, ray_head: str, tmp_path: Path) -> None:
    write_params(project / "params.yaml", {"train": {"steps": 100000, "log_every": 50}})
    env = clean_env(RAY_AUTH_MODE="token", MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'm.db'}")
    assert _gan(project, env, "prepare").returncode == 0
    log = (tmp_path / "submit.log").open("w")
    waiting = subprocess.Popen(
        [str(BIN / "gan"), "submit", "--address", ray_head],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while "step " not in (text := (tmp_path / "submit.log").read_text()):
        assert waiting.poll() is None, text
        assert time.monotonic() < deadline, "training did not start in 180 s"
        time.sleep(1)
    sid = re.search(r"submit: job (gan-train-\S+)", text).group(1)
    stop = _gan(project, env, "jobs", "stop", sid, "--address", ray_head)
    assert stop.returncode == 0 and f"job {sid} STOPPED" in stop.stdout, stop.stdout + stop.stderr
    assert waiting.wait(timeout=60) == 2  # `gan submit` mirrors the job's STOPPED
    log.close()
    assert f"job {sid} STOPPED" in (tmp_path / "submit.log").read_text()
    assert not (project / "models/generator.pt").exists()

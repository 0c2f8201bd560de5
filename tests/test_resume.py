"""Interrupting training after a checkpoint: the rerun resumes at the saved step, one run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import BABY, BIN, clean_env, write_params


def _checkpoints(root: Path) -> list[Path]:
    return sorted((root / "ray_runs").glob("gan-*/checkpoint_*"))


def test_killed_training_resumes_from_its_checkpoint(project: Path) -> None:
    steps, every = 240, 40
    write_params(
        project / "params.yaml",
        BABY,
        {"train": {"steps": steps, "checkpoint_every": every, "log_every": 20}},
    )
    env = clean_env()
    subprocess.run(
        [str(BIN / "gan"), "prepare"], cwd=project, env=env, check=True, capture_output=True
    )
    log = (project / "first_attempt.log").open("w")  # a file: a full pipe would block the driver
    proc = subprocess.Popen(
        [str(BIN / "gan"), "train"],
        cwd=project,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 240
    # Two checkpoint folders on disk: the older one is surely registered with Ray by now.
    while len(_checkpoints(project)) < 2:
        if proc.poll() is not None:
            pytest.fail("training ended early:\n" + (project / "first_attempt.log").read_text())
        assert time.monotonic() < deadline, "no checkpoints within 240 s"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: driver and its local Ray
    proc.wait(timeout=30)
    log.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (project / "models/generator.pt").exists()

    rerun = subprocess.run(
        [str(BIN / "gan"), "train"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    metrics = json.loads((project / "metrics/train.json").read_text())
    start = metrics["start_step"]
    assert 0 < start < steps and start % every == 0, metrics
    assert metrics["step"] == steps
    assert f"training resumed from checkpoint at step {start}" in rerun.stdout

    # One MLflow run holds both attempts; its start markers say where each began.
    run_id = json.loads((project / "models/train_run.json").read_text())["run_id"]
    uri = f"sqlite:///{project / 'mlflow.db'}"
    cli = MlflowClient(tracking_uri=uri)
    exp = cli.get_experiment_by_name("gan")
    assert len(cli.search_runs([exp.experiment_id])) == 1
    starts = [m.value for m in cli.get_metric_history(run_id, "train/start_step")]
    assert starts == [0.0, float(start)]
    logged = {m.step for m in cli.get_metric_history(run_id, "loss/D_main")}
    assert logged == set(range(20, steps + 1, 20))

"""A 1-worker run trains in the stage's process (Ray Train's local mode) and keeps every promise
of a run on Ray actors: the same weights, checkpoints kept in the run folder, a retried failure
and a killed stage resuming exactly, failures recorded in MLflow."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import ray
import torch
from mlflow.tracking import MlflowClient

import pipeline.loop
from pipeline.checkpoints import CheckpointError, load_checkpoint_dir
from pipeline.config import Params, load_params
from pipeline.prepare import prepare
from pipeline.train import TrainingError, fit
from tests.helpers import BABY, BIN, clean_env, copy_project, wait_for, write_params

STEPS, EVERY = 60, 20
TRAIN = {"num_workers": 1, "steps": STEPS, "checkpoint_every": EVERY, "log_every": 10,
         "keep_checkpoints": 2, "keep_best": False, "max_failures": 1}  # fmt: skip


def _params(root: Path, **train: Any) -> Params:
    return load_params(write_params(root / "params.yaml", BABY, {"train": {**TRAIN, **train}}))


def _checkpoints(root: Path) -> list[Path]:
    return sorted(p for p in (root / "ray_runs").glob("gan-*/checkpoint_*") if p.is_dir())


def _whole_checkpoint(root: Path) -> tuple[bool, str]:
    """Whether a checkpoint folder is whole (its manifest parses and matches its state)."""
    seen = []
    for folder in _checkpoints(root):
        try:
            load_checkpoint_dir(folder)
            return True, str(folder)
        except CheckpointError as e:
            seen.append(str(e))
    return False, "; ".join(seen) or "no checkpoint folder"


def _same_weights(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["step"] == want["step"] == STEPS
    for net in ("G", "D", "G_ema"):
        for key, value in want[net].items():
            assert torch.equal(got[net][key], value), f"{net}.{key} differs"
    for i, slot in want["phases"]["opt_D"]["state"].items():
        for name, value in slot.items():
            assert torch.equal(got["phases"]["opt_D"]["state"][i][name], value), (i, name)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 1-worker fit in this process; (its project root, its final state)."""
    root = tmp_path_factory.mktemp("in_process")
    params = _params(root)
    prepare(params.data, root / "prepared")
    ray.shutdown()  # an earlier test's local Ray: this run must not need one
    result, state = fit(params, root, root / "prepared")
    assert not ray.is_initialized(), "an in-process run must not start a Ray cluster"
    assert result.step == STEPS and result.start_step == 0
    return root, state


def test_in_process_run_keeps_checkpoints_and_equals_a_run_on_ray_actors(
    in_process: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, state = in_process
    kept = [load_checkpoint_dir(p)["step"] for p in _checkpoints(root)]
    assert kept == [STEPS - EVERY, STEPS]  # train.keep_checkpoints: 2, as Ray's retention
    cli = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    (run,) = cli.search_runs([cli.get_experiment_by_name("gan").experiment_id])
    assert run.info.status == "FINISHED"
    assert [m.step for m in cli.get_metric_history(run.info.run_id, "loss/D_main")] == list(
        range(10, STEPS + 1, 10)
    )

    params = _params(tmp_path, in_process=False)  # the same run through Ray's actors
    prepare(params.data, tmp_path / "prepared")
    try:
        _, actors = fit(params, tmp_path, tmp_path / "prepared")
    finally:
        ray.shutdown()
    _same_weights(actors, state)


def test_a_failed_attempt_is_retried_from_the_newest_checkpoint(
    in_process: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, want = in_process
    params = _params(tmp_path)
    prepare(params.data, tmp_path / "prepared")
    report, calls = pipeline.loop._report, []

    def flaky_report(rank: Any, step: int, *args: Any) -> None:
        report(rank, step, *args)
        calls.append(step)
        if len(calls) == 1:  # after the first checkpoint, once
            raise ConnectionError("storage went away")

    monkeypatch.setattr(pipeline.loop, "_report", flaky_report)
    result, state = fit(params, tmp_path, tmp_path / "prepared")
    assert calls == [EVERY, EVERY * 2, STEPS]  # the retry resumed after the first checkpoint
    assert result.start_step == EVERY
    cli = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    restart = cli.get_run(result.run_id).data.tags["event.restart.1"]
    assert f"resumed from the checkpoint at step {EVERY}" in restart
    _same_weights(state, want)


def test_failures_beyond_max_failures_fail_the_stage_and_the_mlflow_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _params(tmp_path, max_failures=0)
    prepare(params.data, tmp_path / "prepared")

    def broken(*args: Any) -> None:
        raise ConnectionError("storage went away")

    monkeypatch.setattr(pipeline.loop, "_report", broken)
    with pytest.raises(TrainingError, match="ConnectionError: storage went away"):
        fit(params, tmp_path, tmp_path / "prepared")
    cli = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = cli.search_runs([cli.get_experiment_by_name("gan").experiment_id])
    assert run.info.status == "FAILED"
    assert "ConnectionError: storage went away" in run.data.tags["failure"]


def test_killed_in_process_train_resumes_exactly(
    in_process: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, want = in_process
    root = copy_project(tmp_path / "proj")
    write_params(root / "params.yaml", BABY, {"train": {**TRAIN, "steps": STEPS}})
    env = clean_env()
    subprocess.run([str(BIN / "gan"), "prepare"], cwd=root, env=env, check=True, timeout=120)
    log = root / "train.log"
    out = log.open("w")
    cmd = [str(BIN / "gan"), "train"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    wait_for(lambda: _whole_checkpoint(root), "a whole checkpoint", 300, proc, root / "train.log")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert "(in this process)" in log.read_text()
    assert not (root / "models/generator.pt").exists()

    rerun = subprocess.run(cmd, cwd=root, env=env, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "resumed at step" in rerun.stdout
    state = load_checkpoint_dir(_checkpoints(root)[-1])
    _same_weights(state, want)

"""Killed training resumes exactly: SIGKILL of the whole `dvc repro`, of one Ray worker, and of
one rank of a local process group (the default without a Ray cluster).

The interrupted runs must end bitwise equal to an uninterrupted run of the same length on Ray
actors, with the same losses step by step after the resume point, in one MLflow run with no gaps.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import torch
from mlflow.tracking import MlflowClient

from pipeline.checkpoints import CheckpointError, load_checkpoint_dir
from tests.helpers import BABY, BIN, clean_env, copy_project, wait_for, write_params

STEPS, EVERY, LOG = 160, 40, 10
TRAIN = {
    "steps": STEPS,
    "checkpoint_every": EVERY,
    "log_every": LOG,
    "sample_every": STEPS,
    "keep_checkpoints": 2,
    "keep_best": True,
    "export": "best",
    "max_failures": 1,
}


def _checkpoints(root: Path) -> list[Path]:
    return sorted(p for p in (root / "ray_runs").glob("gan-*/checkpoint_*") if p.is_dir())


def _whole_steps(root: Path) -> list[int]:
    """Steps of the checkpoint folders already complete (Ray may be copying the newest)."""
    steps = []
    for p in _checkpoints(root):
        with contextlib.suppress(CheckpointError):
            steps.append(load_checkpoint_dir(p)["step"])
    return steps


def _final_state(root: Path) -> dict[str, Any]:
    return load_checkpoint_dir(_checkpoints(root)[-1])


def _run(root: Path) -> tuple[MlflowClient, str]:
    cli = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = cli.get_experiment_by_name("gan")
    runs = cli.search_runs([exp.experiment_id])
    assert len(runs) == 1, "a resumed training must stay one MLflow run"
    return cli, runs[0].info.run_id


def _losses(root: Path) -> dict[int, float]:
    """Each logged step's newest D loss (a resumed run re-logs the steps it retrains)."""
    cli, run_id = _run(root)
    history = sorted(cli.get_metric_history(run_id, "loss/D_main"), key=lambda m: m.timestamp)
    return {m.step: m.value for m in history}


def _assert_same_state(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["step"] == want["step"] == STEPS
    for net in ("G", "D", "G_ema"):
        for key, value in want[net].items():
            assert torch.equal(got[net][key], value), f"{net}.{key} differs"
    for opt in ("opt_G", "opt_D"):
        for i, slot in want["phases"][opt]["state"].items():
            for name, value in slot.items():
                assert torch.equal(got["phases"][opt]["state"][i][name], value), (opt, i, name)


def _start(root: Path, cmd: list[str], log: Path) -> subprocess.Popen:
    # Output to a file: a full pipe would block the driver. Own session: killable as a group.
    return subprocess.Popen(
        cmd,
        cwd=root,
        env=clean_env(),
        start_new_session=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _wait_for_checkpoints(root: Path, proc: subprocess.Popen, n: int, log: Path) -> None:
    """Until n checkpoints are whole (manifest parsed and matching), not merely present."""

    def whole() -> tuple[bool, str]:
        steps = _whole_steps(root)
        return len(steps) >= n, f"whole checkpoints at steps {steps}"

    wait_for(whole, f"{n} whole checkpoint(s)", 300, proc, log)


@pytest.fixture(scope="session")
def reference_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A project that trained uninterrupted on Ray actors, uploading checkpoints asynchronously.

    The interrupted runs below upload synchronously, most of them from local processes, and
    must still end bitwise equal to it; Ray deletes each local copy after its upload.

    Trained once per session: the kill tests run on both xdist workers (xdist_group), so the
    first to ask trains it in the session's shared temp folder under a lock the other waits on.
    """
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if worker_id != "master" else base) / "resume-reference"
    root, done = shared / "proj", shared / "trained"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also on a failure
        if done.is_file():
            return root
        shutil.rmtree(root, ignore_errors=True)  # a failed attempt's leftovers
        copy_project(root)
        train = {**TRAIN, "checkpoint_upload": "async", "in_process": False}
        write_params(root / "params.yaml", BABY, {"train": train})
        # A temp folder of its own (short: Ray's socket paths live under it), so other tests
        # running beside this one cannot add or remove staged checkpoints there.
        staging = Path(tempfile.mkdtemp(prefix="gr", dir="/tmp"))
        env = clean_env(TMPDIR=str(staging))
        for stage in ("prepare", "train"):
            subprocess.run([str(BIN / "gan"), stage], cwd=root, env=env, check=True, timeout=600)
        assert (staging / "ray").is_dir()  # Ray and its workers did use this temp folder
        assert not list(staging.glob("gan-checkpoint-*"))  # each staged copy deleted after upload
        shutil.rmtree(staging, ignore_errors=True)
        done.touch()
    return root


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data the reference trained on (prepare is deterministic; its hash is in the run
    key), so a kill test starts without waiting for the reference."""
    root = copy_project(tmp_path_factory.mktemp("prepared") / "proj")
    write_params(root / "params.yaml", BABY, {"train": TRAIN})
    subprocess.run([str(BIN / "gan"), "prepare"], cwd=root, env=clean_env(), check=True)
    return root / "data/prepared"


def _reference(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict]:
    """The reference's final state and losses per logged step (asked for at a test's end)."""
    root = request.getfixturevalue("reference_root")
    return _final_state(root), _losses(root)


@pytest.mark.xdist_group("resume_reference")
def test_retention_keeps_the_last_checkpoints_and_the_best(reference_root: Path) -> None:
    kept = [load_checkpoint_dir(p)["step"] for p in _checkpoints(reference_root)]
    assert kept == [STEPS - EVERY, STEPS]  # train.keep_checkpoints: 2
    cli, run_id = _run(reference_root)
    scores = {m.step: m.value for m in cli.get_metric_history(run_id, "monitor/fd_pixels")}
    assert sorted(scores) == list(range(EVERY, STEPS + 1, EVERY))  # scored at each checkpoint
    best_step = min(scores, key=scores.get)
    (best,) = (reference_root / "ray_runs").glob("gan-*/best/step_*")
    assert load_checkpoint_dir(best)["step"] == best_step
    metrics = json.loads((reference_root / "metrics/train.json").read_text())
    assert metrics["best_step"] == metrics["exported_step"] == best_step
    assert metrics["step"] == STEPS
    generator = torch.load(reference_root / "models/generator.pt", weights_only=True)
    assert generator["step"] == best_step  # train.export: best


@pytest.mark.xdist_group("resume_dvc_repro")
def test_killed_dvc_repro_resumes_at_its_checkpoint_exactly(
    project: Path, request: pytest.FixtureRequest
) -> None:
    write_params(project / "params.yaml", BABY, {"train": TRAIN})
    log = project / "first_attempt.log"
    proc = _start(project, [str(BIN / "dvc"), "repro"], log)
    # Two checkpoint folders on disk: the older one is surely registered with Ray by now.
    _wait_for_checkpoints(project, proc, 2, log)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: dvc, gan train, its rank processes
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (project / "models/generator.pt").exists()

    rerun = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Stage 'prepare' didn't change, skipping" in rerun.stdout  # finished stages stay
    metrics = json.loads((project / "metrics/train.json").read_text())
    start = metrics["start_step"]
    assert 0 < start < STEPS and start % EVERY == 0, metrics
    assert metrics["step"] == STEPS
    assert f"training resumed from checkpoint at step {start}" in rerun.stdout
    assert (project / "metrics/register.json").is_file()  # the later stages ran

    cli, run_id = _run(project)
    starts = [m.value for m in cli.get_metric_history(run_id, "train/start_step")]
    assert starts == [0.0, float(start)]
    losses = _losses(project)
    assert set(losses) == set(range(LOG, STEPS + 1, LOG))  # no gaps
    want_state, want_losses = _reference(request)
    assert losses == want_losses  # same losses, step by step, before and after the resume
    _assert_same_state(_final_state(project), want_state)


def _children(root_pid: int, marker: str) -> list[psutil.Process]:
    """The process's descendants whose name or command line holds marker."""
    found = []
    for p in psutil.Process(root_pid).children(recursive=True):
        try:
            if marker in " ".join([p.name(), *p.cmdline()]):
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


RAY_WORKER, RANK = "RayTrainWorker", "multiprocessing.spawn"  # a local rank: a spawned child


def _kill_one_worker(project: Path, prepared: Path, marker: str, **train: Any) -> tuple[str, int]:
    """Train, SIGKILL one of the 2 workers mid-step after a checkpoint, let the stage finish;
    returns its log and the newest whole checkpoint's step at the kill."""
    write_params(project / "params.yaml", BABY, {"train": {**TRAIN, **train}})
    shutil.copytree(prepared, project / "data/prepared")
    log = project / "train.log"
    proc = _start(project, [str(BIN / "gan"), "train"], log)
    _wait_for_checkpoints(project, proc, 1, log)
    time.sleep(0.3)  # move the kill off the checkpoint; any landing point must resume exactly
    workers = _children(proc.pid, marker)
    assert len(workers) == 2, [p.cmdline() for p in workers]
    newest = max(_whole_steps(project))
    workers[-1].send_signal(signal.SIGKILL)  # one worker, from outside
    assert proc.wait(timeout=400) == 0, log.read_text()
    return log.read_text(), newest


def _assert_restarted_exactly(project: Path, newest: int, request: pytest.FixtureRequest) -> None:
    """The run restarted once from a checkpoint at least as new as `newest` and ended equal."""
    metrics = json.loads((project / "metrics/train.json").read_text())
    assert metrics["step"] == STEPS and newest <= metrics["start_step"] < STEPS, metrics
    cli, run_id = _run(project)
    run = cli.get_run(run_id)
    assert run.info.status == "FINISHED"
    restart = run.data.tags["event.restart.1"]
    assert f"resumed from the checkpoint at step {metrics['start_step']}" in restart
    lost = cli.get_metric_history(run_id, "train/lost_steps")
    assert [m.step for m in lost] == [metrics["start_step"]]
    losses = _losses(project)
    assert set(losses) == set(range(LOG, STEPS + 1, LOG))
    want_state, want_losses = _reference(request)
    assert losses == want_losses
    _assert_same_state(_final_state(project), want_state)
    shutil.rmtree(project / "ray_runs")


@pytest.mark.xdist_group("resume_reference")
def test_killed_worker_is_restarted_by_ray_and_resumes_exactly(
    project: Path, prepared: Path, request: pytest.FixtureRequest
) -> None:
    _, newest = _kill_one_worker(project, prepared, RAY_WORKER, in_process=False)
    _assert_restarted_exactly(project, newest, request)


@pytest.mark.xdist_group("resume_local_group")
def test_killed_rank_of_a_local_group_is_restarted_and_resumes_exactly(
    project: Path, prepared: Path, request: pytest.FixtureRequest
) -> None:
    log, newest = _kill_one_worker(project, prepared, RANK)
    assert "(local processes, no Ray cluster)" in log
    assert "retrying from the newest checkpoint (1 of train.max_failures=1)" in log
    _assert_restarted_exactly(project, newest, request)


@pytest.mark.xdist_group("resume_local_group")
def test_killed_stage_takes_its_rank_processes_along(project: Path, prepared: Path) -> None:
    write_params(project / "params.yaml", BABY, {"train": TRAIN})  # local processes: the default
    shutil.copytree(prepared, project / "data/prepared")
    log = project / "train.log"
    proc = _start(project, [str(BIN / "gan"), "train"], log)
    # Both ranks are in the loop once the run's first metrics are logged.
    started = lambda: ("training started" in log.read_text(), "no metrics logged yet")  # noqa: E731
    wait_for(started, "the local group's first logged step", 300, proc, log)
    ranks = _children(proc.pid, RANK)
    assert len(ranks) == 2, [p.cmdline() for p in ranks]
    proc.kill()  # the stage alone: no time to stop its ranks itself
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(ranks, timeout=10)
    assert not alive, "rank processes outlived the stage: they would train beside a rerun"

"""NaN/inf stops training naming the step and phase, and the last good checkpoint survives;
the collapse monitor fires once on a saturated D; a restart on Ray actors re-raises a recorded
NaN, collapse, data or checkpoint error. The alarm's wiring through the loop:
tests/test_collapse.py."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from mlflow.tracking import MlflowClient

from pipeline.checkpoints import CheckpointError, load_checkpoint_dir
from pipeline.config import PipelineError, load_params
from pipeline.data import PreparedDataError
from pipeline.guards import CollapseError, DivergenceError, Monitor, parse_fault
from pipeline.phases import PHASE_KEYS
from pipeline.prepare import prepare
from pipeline.train import TrainingError, fit
from tests.helpers import BABY, REPO, write_params

ACC = PHASE_KEYS.index("D/accuracy")


def _row(**values: float) -> torch.Tensor:
    row = torch.full((len(PHASE_KEYS),), 0.5)
    for key, v in values.items():
        row[PHASE_KEYS.index(key.replace("__", "/"))] = v
    return row


def test_monitor_names_the_first_bad_step_and_phase() -> None:
    m = Monitor(world=1, collapse_window=0)
    for step in range(10, 20):
        bad = {"loss__G_main": math.inf} if step >= 14 else {}
        m.add(step, _row(**bad))
    with pytest.raises(DivergenceError, match=r"phase G_main is inf at step 15"):
        m.check()


def test_monitor_alarms_once_when_d_is_pinned_at_full_accuracy() -> None:
    m = Monitor(world=1, collapse_window=5)
    for step in range(4):
        m.add(step, _row(D__accuracy=1.0))
    m.add(4, _row(D__accuracy=0.9))  # broken streak
    assert m.check()[1] is None
    alarms = []
    for step in range(5, 15):
        m.add(step, _row(D__accuracy=1.0))
        if step % 3 == 0:
            alarms.append(m.check()[1])
    alarms.append(m.check()[1])
    fired = [a for a in alarms if a]
    assert len(fired) == 1 and "for 5 steps" in fired[0]


def test_fault_spec_is_validated() -> None:
    assert parse_fault("nan@45:D_main") == {("D_main", 44)}
    assert parse_fault("nan@45:D_main,nan@9:G_main") == {("D_main", 44), ("G_main", 8)}
    assert parse_fault(None) == set()
    with pytest.raises(ValueError, match="GAN_FAULT"):
        parse_fault("nan@45:E_main")


def test_nan_rolls_back_then_stops_at_the_limit_keeping_the_last_good_checkpoint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Local processes (the default with several workers). The same stop on Ray actors, whose
    # FailureConfig restarts the group, is refused a replay by the worker entry point:
    # test_a_deterministic_error_on_ray_actors_is_re_raised_by_the_restart.
    train = {
        "steps": 60,
        "checkpoint_every": 30,
        "log_every": 10,
        "on_divergence": "rollback",
        "max_rollbacks": 1,
        "rollback_lr_factor": 0.5,
        "max_failures": 1,  # the group may be restarted: the NaN stop must not be replayed
    }
    params = load_params(write_params(tmp_path / "params.yaml", BABY, {"train": train}))
    prepared = tmp_path / "prepared"
    prepare(params.data, prepared)
    # Step 45's NaN (seen at the step-50 check) rolls back to step 30; step 55's, after the one
    # allowed rollback, stops the run.
    monkeypatch.setenv("GAN_FAULT", "nan@45:D_main,nan@55:G_main")
    with pytest.raises(TrainingError) as exc:
        fit(params, tmp_path, prepared)
    assert "loss of phase G_main is nan at step 55" in str(exc.value)
    assert "train.max_rollbacks=1" in str(exc.value)
    # Local processes are not restarted on an error that recurs identically.
    assert "retrying" not in capsys.readouterr().out

    cli = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = cli.search_runs([cli.get_experiment_by_name("gan").experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.tags["failure"].startswith("DivergenceError: loss of phase G_main is nan")
    rollback = run.data.tags["event.rollback.1"]
    assert "D_main is nan at step 45" in rollback and "rolled back to step 30" in rollback
    assert [
        (m.step, m.value) for m in cli.get_metric_history(run.info.run_id, "event/rollback")
    ] == [(50, 1.0)]
    scales = {m.step: m.value for m in cli.get_metric_history(run.info.run_id, "train/lr_scale")}
    assert scales[30] == 1.0 and scales[50] == 0.5  # step 50 logged again after the rollback
    # The NaNs never reached storage: the one checkpoint is step 30, all finite.
    ckpts = sorted(p for p in tmp_path.glob("ray_runs/gan-*/checkpoint_*") if p.is_dir())
    states = [load_checkpoint_dir(c) for c in ckpts]
    assert [s["step"] for s in states] == [30]
    for net in ("G", "D", "G_ema"):
        assert all(torch.isfinite(v).all() for v in states[0][net].values())


class RunTags:
    """The MLflow client as a worker's TrainingRun uses it: one run's tags."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}

    def get_run(self, run_id: str) -> Any:
        return SimpleNamespace(data=SimpleNamespace(tags=dict(self.tags)))

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.tags[key] = value


class Trains(Exception):
    """Raised where an attempt would build its nets: it got past the replay check."""


def test_a_deterministic_error_on_ray_actors_is_re_raised_by_the_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline import loop

    # Rank 0 of one Ray actor, calling the real entry point and worker as Ray does on each
    # attempt; the run's tags in memory stand in for MLflow.
    cli = RunTags()
    writer = loop.TrainingRun.__new__(loop.TrainingRun)
    writer.cli, writer.run_id = cli, "r"
    monkeypatch.setattr(loop, "TrainingRun", lambda uri, run_id: writer)
    context = SimpleNamespace(get_world_rank=lambda: 0, get_world_size=lambda: 1)
    monkeypatch.setattr(loop.ray.train, "get_context", lambda: context)
    monkeypatch.setattr(loop.ray.train.torch, "get_device", lambda: torch.device("cpu"))
    train = load_params(REPO / "params.yaml").train
    spec = loop.LoopSpec({}, train, "p", "u", "r", "k")
    config = {"spec": spec}

    def attempt(error: Exception) -> None:
        def build(model_config: dict[str, Any]) -> None:
            raise error

        monkeypatch.setattr(loop, "build_generator", build)
        loop.train_loop_per_worker(config)

    for error, replayed_as in (
        (PreparedDataError("p/train/part-00003.parquet: shard listed in schema.json is missing"),
         PipelineError),
        (CheckpointError("checkpoint_000001/checkpoint.pt: sha256 differs from its manifest"),
         PipelineError),
        # A NaN or collapse stop keeps its own class, so the driver's failure tag names it.
        (DivergenceError("loss of phase G_main is nan at step 55"), DivergenceError),
        (CollapseError("step 30: D right on every sample for 5 steps"), CollapseError),
    ):  # fmt: skip
        cli.tags.clear()
        with pytest.raises(type(error)):
            attempt(error)  # the first attempt fails, and rank 0 records why
        assert cli.tags == {"failure": f"{type(error).__name__}: {error}"}
        # Ray's FailureConfig restarts the group: it re-raises the record before training.
        with pytest.raises(replayed_as) as again:
            attempt(Trains())
        assert str(again.value) == f"{error} (not retried: it recurs identically)"
        assert cli.tags == {"failure": f"{type(error).__name__}: {error}"}  # the first kept

    # A lost node or connection may not recur: nothing is recorded and the restart trains.
    cli.tags.clear()
    with pytest.raises(ConnectionError):
        attempt(ConnectionError("node lost"))
    assert cli.tags == {}
    with pytest.raises(Trains):
        attempt(Trains())

"""NaN/inf stops training naming the step and phase, and the last good checkpoint survives;
the collapse alarm fires on a saturated D, is logged, and stops the run (not retried) if asked;
a restart on Ray actors re-raises a recorded data or checkpoint error; async checkpoint upload
in local mode is a no-op the run notes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from mlflow.tracking import MlflowClient

from pipeline.checkpoints import CheckpointError, load_checkpoint_dir
from pipeline.config import Params, PipelineError, load_params
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
    spec = loop.LoopSpec("image", {}, train, "p", "u", "r", "k")
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


def test_alarm_reaches_the_mlflow_run(tmp_path: Path) -> None:
    from pipeline.tracking import TrainingRun, client, ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cli = client(uri)
    run_id = cli.create_run(ensure_experiment(cli, "alarm", tmp_path)).info.run_id
    TrainingRun(uri, run_id).alert(
        700, "collapse", "D has classified every sample correctly for 500 steps"
    )
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.metrics["alert/collapse"] == 1.0
    assert run.data.tags["alert.collapse"].startswith("step 700: D has classified")


# The collapse alarm's wiring through the real loop: one worker in this process (Ray Train's local
# mode), D's accuracy forced so the alarm fires at a known step. The row Phases.step returns is
# what the monitor sees; forcing it in place of a real saturated D keeps the test exact and fast.
COLLAPSE_TRAIN = {
    "num_workers": 1,
    "in_process": True,
    "steps": 40,
    "checkpoint_every": 20,
    "log_every": 10,
    "collapse_window": 5,
    "batch_size": 32,
    "keep_best": False,
    "max_failures": 2,  # room for retries: the stop must not use them
}
TINY_MODEL = {"z_dim": 16, "g_channels": 8, "d_channels": 8}  # the alarm needs no real model
PINNED_FROM = 24  # D right on every sample from step 25 on: the alarm fires at the step-30 check


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny nets: one torch thread is faster than several fighting over busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _pin_d_accuracy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Force D/accuracy (0.5 before step PINNED_FROM + 1, then 1.0); returns the attempts list
    (one entry per run_worker call)."""
    import pipeline.loop
    from pipeline.phases import Phases

    real_step, real_worker, attempts = Phases.step, pipeline.loop.run_worker, []

    def pinned(self: Phases, reals: Any, step: int, gen: torch.Generator) -> torch.Tensor:
        row = real_step(self, reals, step, gen).clone()
        row[ACC] = 1.0 if step >= PINNED_FROM else 0.5
        return row

    def counted(spec: Any) -> Any:
        attempts.append(1)
        return real_worker(spec)

    monkeypatch.setattr(Phases, "step", pinned)
    monkeypatch.setattr(pipeline.loop, "run_worker", counted)
    return attempts


def _collapse_run(tmp_path: Path, stop: bool) -> tuple[Path, Params]:
    params = load_params(
        write_params(
            tmp_path / "params.yaml",
            BABY,
            {"model": TINY_MODEL, "train": {**COLLAPSE_TRAIN, "stop_on_collapse": stop}},
        )
    )
    prepare(params.data, tmp_path / "prepared")
    return tmp_path / "prepared", params


def _only_run(tmp_path: Path) -> tuple[MlflowClient, Any]:
    cli = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = cli.search_runs([cli.get_experiment_by_name("gan").experiment_id])
    return cli, run


@pytest.mark.usefixtures("one_thread")
def test_collapse_alarm_stops_the_run_when_asked_and_the_stop_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prepared, params = _collapse_run(tmp_path, stop=True)
    attempts = _pin_d_accuracy(monkeypatch)
    with pytest.raises(TrainingError) as exc:
        fit(params, tmp_path, prepared)
    assert "CollapseError: step 30: D has classified every real and fake sample" in str(exc.value)
    assert "train.stop_on_collapse is true" in str(exc.value)
    # Not retried, though train.max_failures allows 2: one attempt, no restart, no replay.
    assert attempts == [1]
    out = capsys.readouterr().out
    assert "retrying" not in out
    assert "checkpoint_upload" not in out  # the async note is for async only
    assert "not retried" not in str(exc.value)  # no second attempt re-raised the record

    cli, run = _only_run(tmp_path)
    assert run.info.status == "FAILED"
    assert run.data.tags["failure"].startswith("CollapseError: step 30: D has classified")
    assert run.data.tags["alert.collapse"].startswith("step 30: D has classified")
    assert "for 5 steps" in run.data.tags["alert.collapse"]

    def history(key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in cli.get_metric_history(run.info.run_id, key)]

    assert history("alert/collapse") == [(30, 1.0)]
    assert len(history("train/start_step")) == 1
    assert history("event/restart") == [] and "event.restart.1" not in run.data.tags
    assert max(step for step, _ in history("loss/D_main")) == 30  # stopped at the alarm
    ckpts = sorted(p for p in tmp_path.glob("ray_runs/gan-*/checkpoint_*") if p.is_dir())
    assert [load_checkpoint_dir(c)["step"] for c in ckpts] == [20]


@pytest.mark.usefixtures("one_thread")
def test_collapse_alarm_is_logged_and_training_goes_on_without_stop_on_collapse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared, params = _collapse_run(tmp_path, stop=False)
    attempts = _pin_d_accuracy(monkeypatch)
    result, state = fit(params, tmp_path, prepared)
    assert result.step == state["step"] == COLLAPSE_TRAIN["steps"] and attempts == [1]

    cli, run = _only_run(tmp_path)
    assert run.info.status == "FINISHED" and "failure" not in run.data.tags
    assert run.data.tags["alert.collapse"].startswith("step 30: D has classified")
    # Once: D stays pinned to the end, the alarm does not repeat.
    alerts = cli.get_metric_history(run.info.run_id, "alert/collapse")
    assert [(m.step, m.value) for m in alerts] == [(30, 1.0)]
    logged = [m.step for m in cli.get_metric_history(run.info.run_id, "loss/D_main")]
    assert logged == [10, 20, 30, 40]


@pytest.mark.usefixtures("one_thread")
def test_async_checkpoint_upload_in_local_mode_is_noted_and_copies_in_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = {**COLLAPSE_TRAIN, "steps": 10, "checkpoint_every": 10, "checkpoint_upload": "async"}
    over = {"model": TINY_MODEL, "train": train}
    params = load_params(write_params(tmp_path / "params.yaml", BABY, over))
    prepare(params.data, tmp_path / "prepared")
    fit(params, tmp_path, tmp_path / "prepared")
    out = capsys.readouterr().out
    assert "train.checkpoint_upload: async is a no-op in local mode (Ray actors only)" in out
    # In line: the checkpoint is whole in the run folder when fit returns.
    (ckpt,) = [p for p in tmp_path.glob("ray_runs/gan-*/checkpoint_*") if p.is_dir()]
    assert load_checkpoint_dir(ckpt)["step"] == 10

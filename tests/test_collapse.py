"""The collapse alarm fires on a saturated D, is logged to the MLflow run, and stops the run
(not retried) if asked; async checkpoint upload in local mode is a no-op the run notes (both
through the real loop in this process, Ray Train's local mode)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from mlflow.tracking import MlflowClient

from pipeline.checkpoints import load_checkpoint_dir
from pipeline.config import Params, load_params
from pipeline.phases import PHASE_KEYS
from pipeline.prepare import prepare
from pipeline.train import TrainingError, fit
from tests.helpers import BABY, write_params

ACC = PHASE_KEYS.index("D/accuracy")


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

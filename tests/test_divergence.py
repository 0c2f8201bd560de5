"""NaN/inf stops training naming the step and phase, and the last good checkpoint survives;
the collapse alarm fires on a saturated D."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from pipeline.checkpoints import load_checkpoint_dir
from pipeline.config import load_params
from pipeline.guards import DivergenceError, Monitor, parse_fault
from pipeline.phases import PHASE_KEYS
from pipeline.prepare import prepare
from pipeline.train import TrainingError, fit
from tests.helpers import BABY, write_params

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


@pytest.mark.parametrize("in_process", [False, True], ids=["ray_actors", "local_processes"])
def test_nan_rolls_back_then_stops_at_the_limit_keeping_the_last_good_checkpoint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    in_process: bool,
) -> None:
    train = {
        "in_process": in_process,
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
    if in_process:  # local processes are not restarted on an error that recurs identically
        assert "retrying" not in capsys.readouterr().out
    else:  # Ray restarted the group, and the restart refused to replay the stop
        assert "not retried" in str(exc.value)

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


def test_alarm_reaches_the_mlflow_run(tmp_path: Path) -> None:
    from pipeline.loop import LoopSpec, Writer
    from pipeline.tracking import client, ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cli = client(uri)
    run_id = cli.create_run(ensure_experiment(cli, "alarm", tmp_path)).info.run_id
    spec = LoopSpec({}, {}, str(tmp_path), uri, run_id, "key")
    Writer(spec).alert(700, "collapse", "D has classified every sample correctly for 500 steps")
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.metrics["alert/collapse"] == 1.0
    assert run.data.tags["alert.collapse"].startswith("step 700: D has classified")

"""MLflow plumbing: tracking URI, experiment, one run per training identity (driver and rank-0
writer), eval metrics for runs and version tags. The training side's only MLflow module."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunStatus
from mlflow.tracking import MlflowClient
from PIL import Image

RUN_KEY_TAG = "gan.run_key"


_ENV = "MLFLOW_TRACKING_URI"


def tracking_uri(root: Path) -> str:
    """MLFLOW_TRACKING_URI if set, else SQLite at the project root (absolute, for workers)."""
    return os.environ.get(_ENV) or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def client(uri: str) -> MlflowClient:
    """A client bound to one tracking URI (also used for the registry); no global state."""
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextlib.contextmanager
def active_tracking(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API (start_run, log_model, load_model) at uri, then restore.

    mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI; left behind, it would silently
    redirect every later `tracking_uri()` in this process.
    """
    before = os.environ.get(_ENV)
    mlflow.set_tracking_uri(uri)  # the registry follows the tracking URI unless set apart
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)  # None unsets the variable again


def ensure_experiment(cli: MlflowClient, name: str, root: Path) -> str:
    """Experiment id by name, creating it (local stores keep artifacts under root/mlartifacts)."""
    exp = cli.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if cli.tracking_uri.startswith("sqlite:"):
        location = (root / "mlartifacts").resolve().as_uri()
    return cli.create_experiment(name, artifact_location=location)


def find_or_create_run(
    cli: MlflowClient, experiment_id: str, run_key: str, run_name: str, tags: dict[str, str]
) -> tuple[str, bool]:
    """Reuse the run of this training identity (resume keeps one run); returns (run_id, created)."""
    runs = cli.search_runs(
        [experiment_id],
        filter_string=f"tags.`{RUN_KEY_TAG}` = '{run_key}'",
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    if runs:
        run_id = runs[0].info.run_id
        cli.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        return run_id, False
    run = cli.create_run(experiment_id, run_name=run_name, tags={RUN_KEY_TAG: run_key, **tags})
    return run.info.run_id, True


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1} (MLflow params are flat)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def safe_key(key: str) -> str:
    """A metric or tag name MLflow accepts (letters, digits, _-. :/): column names may hold more."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", key)


def summary_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat eval metrics for MLflow metrics and version tags: every pair of a table's columns
    stays in metrics/eval.json and an artifact, not in hundreds of tags."""
    return {safe_key(k): v for k, v in flatten(metrics).items() if not k.startswith("per_pair.")}


class RunWriter:
    """The one writer of a run's metrics and images (rank 0 of training, or a stage)."""

    def __init__(self, uri: str, run_id: str) -> None:
        self.cli = MlflowClient(tracking_uri=uri)
        self.run_id = run_id
        self.experiment_id = ""  # known when the run was opened here

    def metrics(self, values: dict[str, float], step: int) -> None:
        """Log one row of metrics at a training step."""
        ts = int(time.time() * 1000)
        rows = [Metric(k, float(v), ts, step) for k, v in values.items()]
        self.cli.log_batch(self.run_id, metrics=rows)

    def image(self, image: Image.Image, artifact_file: str) -> None:
        """Log a PNG artifact."""
        self.cli.log_image(self.run_id, image, artifact_file=artifact_file)

    def text(self, text: str, artifact_file: str) -> None:
        """Log a text artifact (a CSV of samples, a JSON of scores)."""
        self.cli.log_text(self.run_id, text, artifact_file)

    def params(self, values: dict[str, Any]) -> None:
        """Log flat params (immutable in MLflow: log once per run)."""
        rows = [Param(k, str(v)) for k, v in values.items()]
        for i in range(0, len(rows), 100):  # MLflow caps params per batch at 100
            self.cli.log_batch(self.run_id, params=rows[i : i + 100])


class TrainingRun(RunWriter):
    """A training identity's MLflow run: opened by the driver, written by rank 0, closed by the
    driver. The only place the training side talks to MLflow."""

    @classmethod
    def open(
        cls,
        uri: str,
        experiment: str,
        root: Path,
        key: str,
        tags: dict[str, str],
        params: dict[str, Any],
    ) -> TrainingRun:
        """The run of training identity `key`, found (a resume) or created with its params."""
        cli = client(uri)
        exp_id = ensure_experiment(cli, experiment, root)
        run_id, created = find_or_create_run(cli, exp_id, key, f"train-{key}", tags)
        run = cls(uri, run_id)
        run.experiment_id = exp_id
        if not created and run.failure() is not None:
            cli.delete_tag(run_id, "failure")  # a new attempt (maybe under a changed policy)
        if created:
            run.params(params)
        return run

    def log(self, step: int, values: dict[str, float]) -> None:
        """Record one row of metrics."""
        self.metrics(values, step)

    def tag(self, key: str, value: str) -> None:
        """Set a run tag."""
        self.cli.set_tag(self.run_id, key, value[:5000])

    def alert(self, step: int, name: str, message: str) -> None:
        """Record an alarm: a metric `alert/<name>` at the step and a run tag with the message."""
        self.log(step, {f"alert/{name}": 1.0})
        self.tag(f"alert.{name}", f"step {step}: {message}")

    def event(self, step: int, name: str, count: int, message: str) -> None:
        """Record the count-th event of a kind (restart, rollback): metric and tag."""
        self.log(step, {f"event/{name}": float(count)})
        self.tag(f"event.{name}.{count}", f"step {step}: {message}")

    def started(self, step: int, problems: list[str]) -> None:
        """Mark a (re)start; on a resume, the steps logged past the checkpoint are lost."""
        last = max((m.step for m in self.history("loss/D_main")), default=0)
        starts = len(self.history("train/start_step"))
        self.log(step, {"train/start_step": float(step)})  # 0 for a fresh start
        if starts:
            lost = max(0, last - step)
            self.log(step, {"train/lost_steps": float(lost)})
            self.event(
                step,
                "restart",
                starts,
                f"resumed from the checkpoint at step {step}; {lost} step(s) trained after it "
                f"(logged up to step {last}) are retrained",
            )
        for i, problem in enumerate(problems, 1):
            self.tag(f"event.checkpoint_skipped.{starts}.{i}", problem)

    def history(self, key: str) -> list[Metric]:
        """Every logged value of one metric."""
        return self.cli.get_metric_history(self.run_id, key)

    def latest(self) -> dict[str, float]:
        """The newest value of every metric."""
        return dict(self.cli.get_run(self.run_id).data.metrics)

    def failure(self) -> str | None:
        """The recorded reason of a deterministic failure (NaN, collapse, data), if any."""
        return self.cli.get_run(self.run_id).data.tags.get("failure")

    def fail(self, error: Exception) -> None:
        """Record a deterministic failure (the first of this attempt), for restarts to re-raise."""
        if self.failure() is None:
            self.tag("failure", f"{type(error).__name__}: {error}")

    def failed(self, reason: str) -> None:
        """Close the run as FAILED; the worker's own record of why wins over `reason`."""
        self.tag("failure", self.failure() or reason)
        self.cli.set_terminated(self.run_id, status="FAILED")

    def finished(self) -> dict[str, float]:
        """Close the run as FINISHED; returns its latest metrics."""
        self.cli.set_terminated(self.run_id, status="FINISHED")
        return self.latest()

    def curves(self, keys: tuple[str, ...]) -> dict[int, dict[str, float]]:
        """Each step's newest value of each metric (a resumed run re-logs steps after its
        checkpoint)."""
        rows: dict[int, dict[str, float]] = {}
        for key in keys:
            for m in sorted(self.history(key), key=lambda m: m.timestamp):
                rows.setdefault(m.step, {})[key] = m.value
        return rows

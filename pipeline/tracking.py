"""MLflow plumbing: tracking URI, experiment, one run per training identity, rank-0 writer."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
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


def git_commit(root: Path) -> str:
    """HEAD commit (with '-dirty' when the tree has changes), or 'unknown' outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


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

"""Stage input/output locations, relative to the project root (mirrored in dvc.yaml)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

PARAMS = Path("params.yaml")
PREPARED = Path("data/prepared")
SCHEMA = PREPARED / "schema.json"
CLASSIFIER = Path("models/classifier.pt")
GENERATOR = Path("models/generator.pt")
TRAIN_RUN = Path("models/train_run.json")
METRICS = Path("metrics")
PLOTS = Path("plots")
SAMPLE_GRID = PLOTS / "samples.png"
MLFLOW_DB = Path("mlflow.db")
MLFLOW_ARTIFACTS = Path("mlartifacts")


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write via a temp file beside path, then rename: readers never see a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def project_root() -> Path:
    """The directory holding params.yaml (stages run from it, as DVC does)."""
    return Path.cwd().resolve()


def write_json(path: Path, data: dict) -> None:
    """Write a metrics (or pointer) JSON atomically: DVC and readers never see half a file."""
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))

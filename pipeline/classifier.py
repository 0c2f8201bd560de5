"""DVC stage `classifier`: fit what evaluate's feature space needs, as the data's kind says.

Images train the domain classifier whose features define fd_<source>; tables need none and
write a marker. Outs: models/classifier.pt (a plain dict, loadable with
torch.load(weights_only=True)) and metrics/classifier.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pipeline import kinds, paths
from pipeline.config import load_params
from pipeline.data import read_schema

METRICS_FILE = paths.METRICS / "classifier.json"


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> None:
    """Atomically torch.save a classifier checkpoint."""
    paths.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def main(params_path: str | Path = "params.yaml") -> None:
    """Stage entry point: fit on data/prepared, write the checkpoint and metrics."""
    cfg = load_params(params_path).evaluate
    schema = read_schema(paths.PREPARED)
    space = kinds.for_schema(schema).fit_feature_space(paths.PREPARED, cfg)
    save_checkpoint(space.checkpoint, paths.CLASSIFIER)
    paths.write_json(METRICS_FILE, dict(sorted(space.metrics.items())))
    print(f"{space.message} -> {paths.CLASSIFIER}")

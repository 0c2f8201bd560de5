"""DVC stage `classifier`: train the domain classifier whose features define fd_<source>.

Reads data/prepared, writes models/classifier.pt (a plain dict, loadable with
torch.load(weights_only=True)) and metrics/classifier.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmodels.classifier import DomainClassifier, accuracy, fit_classifier
from ganmodels.safeload import load_state
from pipeline import paths
from pipeline.config import EvaluateConfig, load_params
from pipeline.data import load_split, read_schema, to_unit_range

# Optimisation constants: on digits 8x8 these reach ~0.99+ holdout accuracy within 10 epochs
# (about 1 s per 10 epochs on 2 CPU cores); larger images simply take longer per epoch.
BATCH_SIZE = 64
LR = 2e-3
WIDTH = 32
EVAL_BATCH_SIZE = 512
METRICS_FILE = paths.METRICS / "classifier.json"
CHECKPOINT_KEYS = ("config", "state_dict", "class_names", "data_hash")


def _labeled_tensors(
    images: np.ndarray, labels: np.ndarray, num_classes: int, split: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if len(images) == 0:
        raise ValueError(f"prepared split {split!r} is empty; the domain classifier needs rows")
    if (labels < 0).any() or (labels >= num_classes).any():
        raise ValueError(
            f"prepared split {split!r} has labels outside [0, {num_classes}) "
            "(-1 = unlabeled); the domain classifier needs a class label on every image"
        )
    return to_tensor(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))


def to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [N, C, H, W] -> float32 tensor in [-1, 1] (the model-side convention)."""
    return torch.from_numpy(np.ascontiguousarray(to_unit_range(images_uint8), dtype=np.float32))


def build_classifier(schema: dict[str, Any], seed: int) -> DomainClassifier:
    """A freshly initialised classifier sized for the prepared data, deterministic in seed."""
    channels, height, width = schema["shape"]
    if height != width:
        raise ValueError(f"prepared images must be square, schema shape is {schema['shape']}")
    # Seed a forked RNG so initialisation is reproducible without disturbing the caller's stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DomainClassifier(channels, height, int(schema["num_classes"]), WIDTH)


def train_classifier(prepared_dir: Path, cfg: EvaluateConfig) -> tuple[dict, dict]:
    """Train on the prepared train split; return (checkpoint dict, metrics dict)."""
    schema = read_schema(prepared_dir)
    if not schema.get("labeled", False):
        raise ValueError(
            f"{prepared_dir}: the prepared data is unlabeled, but the domain classifier needs "
            "class labels (an image folder with one subfolder per class)"
        )
    num_classes = int(schema["num_classes"])
    if num_classes < 2:
        raise ValueError(f"the domain classifier needs at least 2 classes, got {num_classes}")
    train_x, train_y = _labeled_tensors(*load_split(prepared_dir, "train"), num_classes, "train")
    hold_x, hold_y = _labeled_tensors(*load_split(prepared_dir, "holdout"), num_classes, "holdout")

    model = build_classifier(schema, cfg.classifier_seed)
    fit_classifier(
        model, train_x, train_y, cfg.classifier_epochs, BATCH_SIZE, LR, cfg.classifier_seed
    )
    metrics = {
        "classifier_train_accuracy": accuracy(model, train_x, train_y, EVAL_BATCH_SIZE),
        "classifier_holdout_accuracy": accuracy(model, hold_x, hold_y, EVAL_BATCH_SIZE),
        "epochs": cfg.classifier_epochs,
    }
    checkpoint = {
        "config": model.config,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "class_names": [str(name) for name in schema["class_names"]],
        "data_hash": str(schema["data_hash"]),
    }
    return checkpoint, metrics


def load_classifier(path: Path) -> tuple[DomainClassifier, dict]:
    """Rebuild the classifier (eval mode, CPU) from a checkpoint; returns (model, checkpoint)."""
    checkpoint = load_state(path, "classifier checkpoint")
    missing = [k for k in CHECKPOINT_KEYS if k not in checkpoint]
    if missing:
        raise ValueError(f"{path}: not a domain-classifier checkpoint (lacks {missing})")
    model = DomainClassifier(**checkpoint["config"])
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, checkpoint


def save_checkpoint(checkpoint: dict, path: Path) -> None:
    """Atomically torch.save a classifier checkpoint."""
    paths.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def save_metrics(metrics: dict, path: Path) -> None:
    """Atomically write metrics as indented JSON."""
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    paths.atomic_write(path, lambda tmp: tmp.write_text(text))


def main(params_path: str | Path = "params.yaml") -> None:
    """Stage entry point: train on data/prepared, write the checkpoint and metrics."""
    cfg = load_params(params_path).evaluate
    schema = read_schema(paths.PREPARED)
    if schema.get("kind") == "tabular":
        # Tables are scored in their own columns (pipeline/evaluate_table.py): there is no
        # feature space to learn. DVC still wants the stage's outs: write a marker saying so.
        marker = {"kind": "tabular", "data_hash": str(schema["data_hash"])}
        save_checkpoint(marker, paths.CLASSIFIER)
        save_metrics({"epochs": 0}, METRICS_FILE)
        print("classifier: not used for tables (their metrics need no learned features)")
        return
    start = time.perf_counter()
    checkpoint, metrics = train_classifier(paths.PREPARED, cfg)
    save_checkpoint(checkpoint, paths.CLASSIFIER)
    save_metrics(metrics, METRICS_FILE)
    print(
        f"classifier: {metrics['epochs']} epochs, "
        f"train acc {metrics['classifier_train_accuracy']:.4f}, "
        f"holdout acc {metrics['classifier_holdout_accuracy']:.4f}, "
        f"{time.perf_counter() - start:.1f}s -> {paths.CLASSIFIER}"
    )

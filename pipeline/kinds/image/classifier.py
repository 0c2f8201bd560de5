"""The image domain classifier whose features define fd_<source>: trained on the train split
by the classifier stage (a plain dict checkpoint, loadable with torch.load(weights_only=True)),
loaded by evaluate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganmodels.image.classifier import DomainClassifier, accuracy, fit_classifier
from ganmodels.safeload import load_state
from pipeline.data import read_schema
from pipeline.kinds.base import FeatureSpace
from pipeline.kinds.image.shards import load_split, to_unit_range

if TYPE_CHECKING:
    from pipeline.config import EvaluateConfig

# Optimisation constants: on digits 8x8 these reach ~0.99+ holdout accuracy within 10 epochs
# (about 1 s per 10 epochs on 2 CPU cores); larger images simply take longer per epoch.
BATCH_SIZE = 64
LR = 2e-3
WIDTH = 32
EVAL_BATCH_SIZE = 512
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


def fit_feature_space(prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
    """Train the domain classifier on the train split: its features are evaluate's space."""
    start = time.perf_counter()
    checkpoint, metrics = train_classifier(prepared, cfg)
    message = (
        f"classifier: {metrics['epochs']} epochs, "
        f"train acc {metrics['classifier_train_accuracy']:.4f}, "
        f"holdout acc {metrics['classifier_holdout_accuracy']:.4f}, "
        f"{time.perf_counter() - start:.1f}s"
    )
    return FeatureSpace(checkpoint, metrics, message)

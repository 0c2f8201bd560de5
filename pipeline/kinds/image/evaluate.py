"""evaluate for images: FD (with its real-data floor), KID, precision/recall, density/coverage,
class coverage and, for a conditional G, per-class FD and label accuracy, in the domain
classifier's feature space (or Inception's), against the holdout split. Each FD is reported
with its sample counts; the names written are declared in pipeline/kinds/image/metrics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganmodels.build import generator_from_state
from ganmodels.image.classifier import DomainClassifier, embed
from ganmodels.image.sampling import balanced_labels, generate, to_uint8
from ganmodels.metrics import (
    class_coverage,
    density_coverage,
    frechet_distance,
    kernel_inception_distance,
    knn_precision_recall,
    pixels,
)
from ganmodels.privacy import copy_rate, membership_auc
from pipeline import paths
from pipeline.data import SPLITS
from pipeline.kinds.base import Evaluation
from pipeline.kinds.image.classifier import load_classifier, to_tensor
from pipeline.kinds.image.figure import make_grid
from pipeline.kinds.image.metrics import fd_key, image_written, source_named, summary_line
from pipeline.kinds.image.shards import load_split
from pipeline.kinds.image.utility import augmentation
from pipeline.metric_names import check_written

if TYPE_CHECKING:
    from pipeline.config import EvaluateConfig, Params

GRID_SAMPLES = 100
Features = Callable[[torch.Tensor], np.ndarray]
Split = tuple[np.ndarray, np.ndarray]  # (uint8 images, labels)


@dataclass(frozen=True)
class Scores:
    """Metrics of G's samples and the samples shown in the grid (uint8 [n, C, H, W])."""

    metrics: dict[str, Any]
    grid: np.ndarray


def _per_class(
    fake_feats: np.ndarray,
    fake_labels: np.ndarray,
    fake_pred: np.ndarray,
    hold_feats: np.ndarray,
    hold_labels: np.ndarray,
    num_classes: int,
) -> dict[str, dict[str, float | int]]:
    """Per asked-for label: FD against the holdout rows of that class, and the classifier's
    accuracy on the samples (does G draw the digit it was asked for?)."""
    out: dict[str, dict[str, float | int]] = {}
    for k in range(num_classes):
        fk, hk = fake_feats[fake_labels == k], hold_feats[hold_labels == k]
        row: dict[str, float | int] = {"num_samples": len(fk), "num_real": len(hk)}
        row["accuracy"] = round(float((fake_pred[fake_labels == k] == k).mean()), 4)
        if len(fk) >= 2 and len(hk) >= 2:
            row["fd"] = round(frechet_distance(fk, hk), 4)
        out[str(k)] = row
    return out


def _fd_family(
    fake: np.ndarray, hold: np.ndarray, floor_rows: np.ndarray, fd_name: str
) -> dict[str, float]:
    """FD of the samples and of real train rows (the floor) against the holdout, their ratio,
    and the same values under the feature space's name (fd_digits, fid, ...)."""
    fd = frechet_distance(fake, hold)
    floor = frechet_distance(floor_rows, hold)
    fds = {"fd": round(fd, 4), "fd_floor": round(floor, 4)}
    fds["fd_ratio"] = round(fd / max(floor, 1e-12), 3)
    return {**fds, **{name: fds[generic] for generic, name in source_named(fd_name).items()}}


def _neighbours(fake: np.ndarray, hold: np.ndarray, cfg: EvaluateConfig) -> dict[str, float]:
    """KID, k-NN precision/recall and density/coverage of the samples against the holdout."""
    # k-NN metrics are biased by unequal set sizes: compare equal numbers of each.
    n_pr = min(len(hold), len(fake))
    precision, recall = knn_precision_recall(hold[:n_pr], fake[:n_pr], k=cfg.knn_k)
    density, coverage = density_coverage(hold[:n_pr], fake[:n_pr], k=cfg.density_k)
    kid, kid_std = kernel_inception_distance(
        hold, fake, cfg.kid_subsets, cfg.kid_subset_size, seed=cfg.seed
    )
    return {
        "kid": round(kid, 6),
        "kid_std": round(kid_std, 6),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "density": round(density, 4),
        "coverage": round(coverage, 4),
    }


def evaluate(
    g: torch.nn.Module, z_dim: int, clf: DomainClassifier, train: Split, validation: Split,
    holdout: Split, cfg: EvaluateConfig, fd_name: str, features: Features | None = None,
) -> Scores:  # fmt: skip
    """FD, KID, precision/recall, density/coverage, class coverage, privacy (and per-class
    checks and the augmentation gain for a conditional G, its ratio chosen on validation) of
    G's samples against the holdout split; each split is (uint8 images, labels)."""
    train_images, (holdout_images, holdout_labels) = train[0], holdout
    feats = features or (lambda x: embed(clf, x)[0].numpy())
    n = cfg.num_samples
    num_classes = int(getattr(g, "num_classes", 0))
    if n < num_classes:
        raise ValueError(
            f"evaluate.num_samples ({n}) must be at least the number of classes ({num_classes})"
        )
    fake_labels = balanced_labels(n, num_classes) if num_classes else None
    fake = generate(g, n, cfg.seed, z_dim, labels=fake_labels)
    clf_feats, fake_probs = embed(clf, fake)
    # The classifier's own features are the default feature space: embed the samples once.
    fake_feats = clf_feats.numpy() if features is None else features(fake)
    hold_feats = feats(to_tensor(holdout_images))
    # Real-data floor: train rows vs the same holdout, at the same sample size.
    rng = np.random.default_rng(cfg.seed)
    n_floor = min(n, len(train_images))
    floor_rows = rng.choice(len(train_images), n_floor, replace=False)
    floor_feats = feats(to_tensor(train_images[floor_rows]))
    fds = _fd_family(fake_feats, hold_feats, floor_feats, fd_name)
    metrics: dict[str, Any] = {
        **fds,  # `fd` (promotion metric) and its copies named for the feature space
        "num_samples": n,  # the FD's generated samples ...
        "holdout_rows": len(holdout_images),  # ... against this many real rows
        "floor_num_samples": n_floor,
        **_neighbours(fake_feats, hold_feats, cfg),
        "class_coverage": class_coverage(fake_probs, clf.num_classes, cfg.coverage_threshold),
        "num_classes": clf.num_classes,
    }
    if num_classes:
        per_class = _per_class(
            fake_feats,
            fake_labels.numpy(),
            fake_probs.argmax(1).numpy(),
            hold_feats,
            holdout_labels,
            num_classes,
        )
        accs = [row["accuracy"] for row in per_class.values()]
        metrics["label_accuracy"] = round(float(np.mean(accs)), 4)
        metrics["label_accuracy_min"] = round(float(np.min(accs)), 4)
        metrics["per_class"] = per_class
        splits, labels = (train, validation, holdout), fake_labels.numpy()
        metrics["augmentation"] = augmentation(fake, labels, splits, cfg.classifier_epochs,
                                               cfg.seed)  # fmt: skip
    metrics |= privacy(fake, train_images, holdout_images, cfg.seed)
    check_written(metrics, image_written(fd_name, bool(num_classes)))
    return Scores(metrics, to_uint8(fake[:GRID_SAMPLES]).numpy())


def privacy(
    fake: torch.Tensor, train_images: np.ndarray, holdout_images: np.ndarray, seed: int
) -> dict[str, float]:
    """Membership-inference AUC and copy rate in pixel space (pooled as the probe pools)."""

    def rows(images: np.ndarray) -> np.ndarray:  # in chunks: never every image as floats
        return np.concatenate([pixels(to_tensor(images[i : i + 1024])).numpy()
                               for i in range(0, len(images), 1024)])  # fmt: skip

    synthetic, train, holdout = pixels(fake).numpy(), rows(train_images), rows(holdout_images)
    return {
        "membership_auc": round(membership_auc(train, holdout, synthetic, seed), 4),
        "copy_rate": round(copy_rate(synthetic, train, holdout), 4),
    }


def feature_extractor(cfg: EvaluateConfig, root: Path) -> Features | None:
    """Inception features from cfg.inception_weights, or None for the domain classifier's."""
    if cfg.feature_extractor != "inception":
        return None
    from ganmodels.image.inception import inception_features, load_inception

    weights = Path(cfg.inception_weights)
    model = load_inception(weights if weights.is_absolute() else root / weights)
    return lambda x: inception_features(model, x)


def evaluate_generator(
    params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
) -> Evaluation:
    """The image kind's evaluate: the exported G against the holdout, with the sample grid."""
    features = feature_extractor(params.evaluate, root)  # before any sampling: needs the weights
    clf, clf_ckpt = load_classifier(paths.CLASSIFIER)
    if clf_ckpt["data_hash"] != schema["data_hash"]:
        raise ValueError(
            f"{paths.CLASSIFIER} was trained on other data (hash {clf_ckpt['data_hash'][:12]}, "
            f"prepared data is {schema['data_hash'][:12]}): rerun `dvc repro classifier`"
        )
    train, validation, holdout = (load_split(paths.PREPARED, s) for s in SPLITS)
    fd_name = fd_key(params.data.source, params.evaluate.feature_extractor)
    g = generator_from_state(generator)
    z_dim = generator["model_config"]["z_dim"]
    cfg = params.evaluate
    result = evaluate(g, z_dim, clf, train, validation, holdout, cfg, fd_name, features)
    line = summary_line(result.metrics, fd_name, paths.SAMPLE_GRID)
    return Evaluation(result.metrics, make_grid(result.grid, nrow=10), line)

"""Evaluate stage: sample quality in a feature space, per-class checks, grid, MLflow logging.

Features come from the domain classifier (the default) or from InceptionV3 with pytorch-fid's
weights. The FD is `fd` in either space (the promotion metric, whatever the source), with a copy
named for the space beside it: fd_<source> (e.g. fd_digits) or the standard fid. Every FD is
reported with its sample counts; the names written are declared in pipeline/metric_names.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmodels import generate, generator_from_state, to_uint8
from ganmodels.classifier import DomainClassifier, embed
from ganmodels.metrics import (
    class_coverage,
    density_coverage,
    frechet_distance,
    kernel_inception_distance,
    knn_precision_recall,
)
from ganmodels.safeload import load_state
from ganmodels.sampling import balanced_labels
from pipeline import paths
from pipeline.classifier import load_classifier, to_tensor
from pipeline.config import EvaluateConfig, load_params
from pipeline.data import load_split, read_schema
from pipeline.grid import make_grid
from pipeline.metric_names import check_written, fd_key, image_written, source_named
from pipeline.tracking import RunWriter, summary_metrics, tracking_uri

GRID_SAMPLES = 100
Features = Callable[[torch.Tensor], np.ndarray]


@dataclass(frozen=True)
class Evaluation:
    """Metrics (for metrics/eval.json and MLflow) plus the samples shown in the grid."""

    metrics: dict[str, Any]
    grid: np.ndarray


def load_generator(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the exported generator from ganmodels alone (weights_only: no code from the file)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator (run the train stage first)")
    state = load_state(path, "generator file")
    return generator_from_state(state), state


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


def evaluate(
    g: torch.nn.Module,
    z_dim: int,
    clf: DomainClassifier,
    train_images: np.ndarray,
    holdout: tuple[np.ndarray, np.ndarray],
    cfg: EvaluateConfig,
    fd_name: str,
    features: Features | None = None,
) -> Evaluation:
    """FD, KID, precision/recall, density/coverage, class coverage (and per-class checks for a
    conditional G) of G's samples against the holdout split."""
    holdout_images, holdout_labels = holdout
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
    fd = frechet_distance(fake_feats, hold_feats)
    floor = frechet_distance(floor_feats, hold_feats)
    # k-NN metrics are biased by unequal set sizes: compare equal numbers of each.
    n_pr = min(len(hold_feats), len(fake_feats))
    precision, recall = knn_precision_recall(hold_feats[:n_pr], fake_feats[:n_pr], k=cfg.knn_k)
    density, coverage = density_coverage(hold_feats[:n_pr], fake_feats[:n_pr], k=cfg.density_k)
    kid, kid_std = kernel_inception_distance(
        hold_feats, fake_feats, cfg.kid_subsets, cfg.kid_subset_size, seed=cfg.seed
    )
    fds = {"fd": round(fd, 4), "fd_floor": round(floor, 4)}
    fds["fd_ratio"] = round(fd / max(floor, 1e-12), 3)
    named = {name: fds[generic] for generic, name in source_named(fd_name).items()}
    metrics: dict[str, Any] = {
        **fds,  # `fd`, in the feature space fd_name names, is the promotion metric ...
        **named,  # ... and the same values under that space's name: fd_digits, fid, ...
        "num_samples": n,  # the FD's generated samples ...
        "holdout_rows": len(holdout_images),  # ... against this many real rows
        "floor_num_samples": n_floor,
        "kid": round(kid, 6),
        "kid_std": round(kid_std, 6),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "density": round(density, 4),
        "coverage": round(coverage, 4),
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
    check_written(metrics, image_written(fd_name, bool(num_classes)))
    return Evaluation(metrics, to_uint8(fake[:GRID_SAMPLES]).numpy())


def feature_extractor(cfg: EvaluateConfig, root: Path) -> Features | None:
    """Inception features from cfg.inception_weights, or None for the domain classifier's."""
    if cfg.feature_extractor != "inception":
        return None
    from ganmodels.inception import inception_features, load_inception

    weights = Path(cfg.inception_weights)
    model = load_inception(weights if weights.is_absolute() else root / weights)
    return lambda x: inception_features(model, x)


def main(params_path: str = str(paths.PARAMS)) -> None:
    """DVC entry point: generator, classifier, data -> metrics/eval.json, grid, MLflow."""
    params = load_params(params_path)
    root = paths.project_root()
    schema = read_schema(paths.PREPARED)
    if schema.get("kind") == "tabular":
        from pipeline import evaluate_table

        evaluate_table.run(params, schema)
        return
    features = feature_extractor(params.evaluate, root)  # fails early without the weights
    g, state = load_generator(paths.GENERATOR)
    clf, clf_ckpt = load_classifier(paths.CLASSIFIER)
    if clf_ckpt["data_hash"] != schema["data_hash"]:
        raise ValueError(
            f"{paths.CLASSIFIER} was trained on other data (hash {clf_ckpt['data_hash'][:12]}, "
            f"prepared data is {schema['data_hash'][:12]}): rerun `dvc repro classifier`"
        )
    train_images, _ = load_split(paths.PREPARED, "train")
    holdout = load_split(paths.PREPARED, "holdout")
    fd_name = fd_key(params.data.source, params.evaluate.feature_extractor)
    result = evaluate(
        g,
        state["model_config"]["z_dim"],
        clf,
        train_images,
        holdout,
        params.evaluate,
        fd_name,
        features,
    )
    paths.METRICS.mkdir(exist_ok=True)
    (paths.METRICS / "eval.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    paths.SAMPLE_GRID.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(result.grid, nrow=10)
    grid.save(paths.SAMPLE_GRID)

    run_id = json.loads(paths.TRAIN_RUN.read_text())["run_id"]
    writer = RunWriter(tracking_uri(root), run_id)
    flat = summary_metrics(result.metrics)
    writer.metrics(
        {"eval/" + k.replace(".", "/"): float(v) for k, v in flat.items()}, state["step"]
    )
    writer.image(grid, "eval/samples.png")
    print(summary_line(result.metrics, fd_name), flush=True)


def summary_line(m: dict[str, Any], fd_name: str) -> str:
    """One human line of the headline metrics."""
    line = (
        f"evaluate: fd {m['fd']:.3f} (= {fd_name}; {m['num_samples']} samples vs "
        f"{m['holdout_rows']} holdout rows; real-data floor {m['fd_floor']:.3f}, "
        f"x{m['fd_ratio']:.1f}) | KID {m['kid']:.4f} | precision {m['precision']:.3f} "
        f"recall {m['recall']:.3f} | density {m['density']:.3f} coverage {m['coverage']:.3f} | "
        f"classes covered {m['class_coverage']}/{m['num_classes']}"
    )
    if "label_accuracy" in m:
        line += f" | asked-for label accuracy {m['label_accuracy']:.3f}"
        line += f" (min {m['label_accuracy_min']:.3f})"
    return line + f" | grid {paths.SAMPLE_GRID}"

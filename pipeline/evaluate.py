"""Evaluate stage: sample quality in a domain classifier's feature space, grid, MLflow logging."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmodels import generate, generator_from_state, to_uint8
from ganmodels.classifier import DomainClassifier, embed
from ganmodels.metrics import class_coverage, frechet_distance, knn_precision_recall
from pipeline import paths
from pipeline.classifier import load_classifier, to_tensor
from pipeline.config import EvaluateConfig, load_params
from pipeline.data import load_split, read_schema
from pipeline.grid import make_grid
from pipeline.tracking import RunWriter, tracking_uri

GRID_SAMPLES = 100


@dataclass(frozen=True)
class Evaluation:
    """Metrics (for metrics/eval.json and MLflow) plus the samples shown in the grid."""

    metrics: dict[str, float | int]
    grid: np.ndarray


def fd_key(source: str) -> str:
    """Name the FD after the classifier's domain, e.g. fd_digits: it is not an Inception FID."""
    name = "digits" if source == "digits" else Path(source).name
    return "fd_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "data")


def load_generator(path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the exported generator from ganmodels alone (weights_only: no code from the file)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator (run the train stage first)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return generator_from_state(state), state


def evaluate(
    g: torch.nn.Module,
    z_dim: int,
    clf: DomainClassifier,
    train_images: np.ndarray,
    holdout_images: np.ndarray,
    cfg: EvaluateConfig,
    fd_name: str,
) -> Evaluation:
    """FD, k-NN precision/recall and class coverage of G's samples against the holdout split."""
    n = cfg.num_samples
    fake = generate(g, n, cfg.seed, z_dim)
    fake_feats, fake_probs = embed(clf, fake)
    hold_feats, _ = embed(clf, to_tensor(holdout_images))
    # Real-data floor: train rows vs the same holdout, at the same sample size.
    rng = np.random.default_rng(cfg.seed)
    n_floor = min(n, len(train_images))
    floor_rows = rng.choice(len(train_images), n_floor, replace=False)
    floor_feats, _ = embed(clf, to_tensor(train_images[floor_rows]))
    fd = frechet_distance(fake_feats, hold_feats)
    floor = frechet_distance(floor_feats, hold_feats)
    # k-NN precision/recall are biased by unequal set sizes: compare equal numbers of each.
    n_pr = min(len(hold_feats), len(fake_feats))
    precision, recall = knn_precision_recall(hold_feats[:n_pr], fake_feats[:n_pr], k=cfg.knn_k)
    coverage = class_coverage(fake_probs, clf.num_classes, cfg.coverage_threshold)
    metrics: dict[str, float | int] = {
        fd_name: round(fd, 4),
        f"{fd_name}_floor": round(floor, 4),
        f"{fd_name}_ratio": round(fd / max(floor, 1e-12), 3),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "class_coverage": coverage,
        "num_classes": clf.num_classes,
        "num_samples": n,
        "floor_num_samples": n_floor,
        "holdout_rows": len(holdout_images),
    }
    return Evaluation(metrics, to_uint8(fake[:GRID_SAMPLES]).numpy())


def main(params_path: str = str(paths.PARAMS)) -> None:
    """DVC entry point: generator, classifier, data -> metrics/eval.json, grid, MLflow."""
    params = load_params(params_path)
    schema = read_schema(paths.PREPARED)
    g, state = load_generator(paths.GENERATOR)
    clf, clf_ckpt = load_classifier(paths.CLASSIFIER)
    if clf_ckpt["data_hash"] != schema["data_hash"]:
        raise ValueError(
            f"{paths.CLASSIFIER} was trained on other data (hash {clf_ckpt['data_hash'][:12]}, "
            f"prepared data is {schema['data_hash'][:12]}): rerun `dvc repro classifier`"
        )
    train_images, _ = load_split(paths.PREPARED, "train")
    holdout_images, _ = load_split(paths.PREPARED, "holdout")
    fd_name = fd_key(params.data.source)
    result = evaluate(
        g,
        state["model_config"]["z_dim"],
        clf,
        train_images,
        holdout_images,
        params.evaluate,
        fd_name,
    )
    paths.METRICS.mkdir(exist_ok=True)
    (paths.METRICS / "eval.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    paths.SAMPLE_GRID.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(result.grid, nrow=10)
    grid.save(paths.SAMPLE_GRID)

    run_id = json.loads(paths.TRAIN_RUN.read_text())["run_id"]
    writer = RunWriter(tracking_uri(paths.project_root()), run_id)
    writer.metrics({f"eval/{k}": float(v) for k, v in result.metrics.items()}, state["step"])
    writer.image(grid, "eval/samples.png")
    m = result.metrics
    print(
        f"evaluate: {fd_name} {m[fd_name]:.3f} (real-data floor {m[fd_name + '_floor']:.3f}, "
        f"x{m[fd_name + '_ratio']:.1f}) | precision {m['precision']:.3f} recall {m['recall']:.3f}"
        f" | classes covered {m['class_coverage']}/{m['num_classes']} | grid {paths.SAMPLE_GRID}",
        flush=True,
    )

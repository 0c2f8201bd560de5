"""Evaluate stage for tables: sample the exported generator, score it against the holdout with
ganmodels/table_metrics.py, next to the same scores of real train rows (the ceiling). The scalars
written are declared in pipeline/metric_names.py (quality_score is the promotion metric)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.safeload import load_state
from ganmodels.table_metrics import (
    column_shapes,
    detection_auc,
    distance_to_closest_record,
    ml_efficacy,
    pair_trends,
)
from ganmodels.table_sampling import TableSampler, table_sampler_from_state
from pipeline import paths
from pipeline.config import Params
from pipeline.metric_names import TABLE, check_written
from pipeline.prepare_table import load_table_split
from pipeline.table_plots import table_figure
from pipeline.tracking import RunWriter, summary_metrics, tracking_uri


def fidelity_scores(
    fake: pd.DataFrame, holdout: pd.DataFrame, columns: list[dict[str, Any]], seed: int
) -> dict[str, Any]:
    """How alike fake and holdout rows are: column shapes, pair trends, quality, detection."""
    shapes = column_shapes(holdout, fake, columns)
    trends = pair_trends(holdout, fake, columns)
    shape = float(np.mean(list(shapes.values())))
    trend = float(np.mean(list(trends.values()))) if trends else 1.0
    return {
        # SDMetrics' quality score: the mean of the two (1 = the holdout's own statistics).
        "quality_score": round((shape + trend) / 2, 4),
        "column_shapes": round(shape, 4),
        "pair_trends": round(trend, 4),
        "detection_auc": round(detection_auc(holdout, fake, columns, seed), 4),
        "per_column": {k: round(v, 4) for k, v in shapes.items()},
        "per_pair": {k: round(v, 4) for k, v in trends.items()},
    }


def table_scores(
    fake: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[dict[str, Any]],
    label: str | None,
    seed: int,
) -> dict[str, Any]:
    """Fidelity scores plus privacy (DCR) and, with a label, ML efficacy."""
    out = fidelity_scores(fake, holdout, columns, seed)
    out["dcr"] = {
        k: round(v, 4) for k, v in distance_to_closest_record(fake, train, holdout, columns).items()
    }
    if label is not None:
        efficacy = ml_efficacy(fake, train, holdout, columns, label, seed)
        out["ml_efficacy"] = {k: round(v, 4) for k, v in efficacy.items()}
    return out


def evaluate_table(
    sampler: TableSampler,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    label: str | None,
    num_samples: int,
    seed: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of G's samples against the holdout, with real train rows scored the same way
    (`real_*`: what a perfect generator of this size would get); returns (metrics, samples)."""
    columns = sampler.transformer.columns
    fake = sampler.sample(num_samples, seed)
    real = train.sample(min(num_samples, len(train)), random_state=seed)
    metrics = table_scores(fake, train, holdout, columns, label, seed)
    # The ceiling needs only the fidelity scores: real rows' efficacy is f1_real already,
    # and their DCR to the train rows they are is 0.
    ceiling = fidelity_scores(real, holdout, columns, seed)
    metrics["num_samples"] = len(fake)
    metrics["holdout_rows"] = len(holdout)
    for key in ("quality_score", "column_shapes", "pair_trends", "detection_auc"):
        metrics[f"real_{key}"] = ceiling[key]
    return check_written(metrics, TABLE), fake


def run(params: Params, schema: dict[str, Any]) -> None:
    """The evaluate stage for a table: metrics/eval.json, plots/samples.png and the MLflow run."""
    root = paths.project_root()
    state = load_state(paths.GENERATOR, "generator file")
    if state.get("data_hash") != schema["data_hash"]:
        raise ValueError(
            f"{paths.GENERATOR} was trained on other data (hash {str(state.get('data_hash'))[:12]}"
            f", prepared data is {schema['data_hash'][:12]}): rerun `dvc repro train`"
        )
    sampler = table_sampler_from_state(state)
    train = load_table_split(paths.PREPARED, "train")
    holdout = load_table_split(paths.PREPARED, "holdout")
    cfg = params.evaluate
    metrics, fake = evaluate_table(
        sampler, train, holdout, schema.get("label"), cfg.num_samples, cfg.seed
    )
    paths.METRICS.mkdir(exist_ok=True)
    (paths.METRICS / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    figure = table_figure(
        holdout, fake, sampler.transformer.columns, metrics["per_column"], metrics["per_pair"]
    )
    paths.SAMPLE_GRID.parent.mkdir(parents=True, exist_ok=True)
    figure.save(paths.SAMPLE_GRID)

    run_id = json.loads(paths.TRAIN_RUN.read_text())["run_id"]
    writer = RunWriter(tracking_uri(root), run_id)
    flat = summary_metrics(metrics)
    writer.metrics(
        {"eval/" + k.replace(".", "/"): float(v) for k, v in flat.items()}, state["step"]
    )
    writer.image(figure, "eval/samples.png")
    writer.text(fake.head(100).to_csv(index=False), "eval/samples.csv")
    writer.text(json.dumps(metrics["per_pair"], indent=2), "eval/pair_trends.json")
    m = metrics
    print(
        f"evaluate: quality {m['quality_score']:.3f} (column shapes {m['column_shapes']:.3f}, "
        f"pair trends {m['pair_trends']:.3f}; real rows {m['real_quality_score']:.3f}) | "
        f"detection AUC {m['detection_auc']:.3f} (real {m['real_detection_auc']:.3f}, 0.5 ideal)"
        + (
            f" | ML efficacy {m['ml_efficacy']['f1_synthetic']:.3f} vs real "
            f"{m['ml_efficacy']['f1_real']:.3f}"
            if "ml_efficacy" in m
            else ""
        )
        + f" | DCR ratio {m['dcr']['ratio']:.2f} | {m['num_samples']} rows vs "
        f"{m['holdout_rows']} holdout | figure {paths.SAMPLE_GRID}",
        flush=True,
    )

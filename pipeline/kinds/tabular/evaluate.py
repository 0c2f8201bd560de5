"""evaluate for tables: sample the exported generator, score it against the holdout with
ganmodels/tabular/metrics.py, next to the same scores of real train rows (the ceiling). The
scalars written are declared in pipeline/kinds/tabular/metrics.py (quality_score gates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ganmodels.privacy import membership_auc
from ganmodels.tabular.imbalance import ARMS, imbalance, minority_share
from ganmodels.tabular.metrics import (
    Features,
    augmentation,
    column_detection,
    column_shapes,
    detection_auc,
    distance_to_closest_record,
    marginals,
    ml_efficacy,
    pair_trends,
)
from ganmodels.tabular.sampling import TableSampler, table_sampler_from_state
from pipeline import paths
from pipeline.data import SPLITS
from pipeline.kinds.base import Evaluation
from pipeline.kinds.tabular.figure import table_figure
from pipeline.kinds.tabular.metrics import TABLE, summary_line
from pipeline.kinds.tabular.review import column_shares
from pipeline.kinds.tabular.shards import load_table_split
from pipeline.metric_names import check_written

if TYPE_CHECKING:
    from pipeline.config import Params


# The fidelity scores also given for real rows (the ceiling) and the marginals (the floor).
FIDELITY = (
    "quality_score",
    "column_shapes",
    "pair_trends",
    "detection_auc",
    "detection_auc_boosted",
)


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
        # The same, by a gradient-boosted detector: it also sees what no line separates.
        "detection_auc_boosted": round(detection_auc(holdout, fake, columns, seed, "boosted"), 4),
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
    """Fidelity scores, the column that gives the rows away most, privacy (DCR and a
    membership-inference attack's AUC) and, with a label, ML efficacy."""
    out = fidelity_scores(fake, holdout, columns, seed)
    per_column = column_detection(holdout, fake, columns, seed)
    worst = max(per_column, key=per_column.__getitem__)
    out["column_detection"] = {k: round(v, 4) for k, v in per_column.items()}
    out["column_detection_max"] = round(per_column[worst], 4)
    out["most_detectable_column"] = {worst: round(per_column[worst], 4)}
    out["dcr"] = {
        k: round(v, 4) for k, v in distance_to_closest_record(fake, train, holdout, columns).items()
    }
    rows = Features(train, columns)  # DCR's space: numbers standardized, categories one-hot
    auc = membership_auc(rows(train), rows(holdout), rows(fake), seed)
    out["membership_auc"] = round(auc, 4)
    if label is not None:
        efficacy = ml_efficacy(fake, train, holdout, columns, label, seed)
        out["ml_efficacy"] = {k: round(v, 4) for k, v in efficacy.items()}
    return out


def evaluate_table(
    sampler: TableSampler,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    holdout: pd.DataFrame,
    label: str | None,
    num_samples: int,
    seed: int,
    imbalanced_below: float,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of G's samples against the holdout, with real train rows scored the same way
    (`real_*`: what a perfect generator of this size would get); with a label whose smallest
    class is under `imbalanced_below` of the train rows, our samples against the classic
    oversamplers (the validation rows choose how many samples to add); returns (metrics,
    samples)."""
    columns = sampler.transformer.columns
    fake = sampler.sample(num_samples, seed)
    real = train.sample(min(num_samples, len(train)), random_state=seed)
    metrics = table_scores(fake, train, holdout, columns, label, seed)
    # The ceiling needs only the fidelity scores: real rows' efficacy is f1_real already,
    # and their DCR to the train rows they are is 0.
    ceiling = fidelity_scores(real, holdout, columns, seed)
    # The floor: each column resampled alone, the same number of rows (a trivial generator).
    floor_rows = marginals(train, len(fake), seed)
    floor = fidelity_scores(floor_rows, holdout, columns, seed)
    metrics["num_samples"] = len(fake)
    metrics["holdout_rows"] = len(holdout)
    for key in FIDELITY:
        metrics[f"real_{key}"], metrics[f"marginals_{key}"] = ceiling[key], floor[key]
    if label is not None:
        efficacy = ml_efficacy(floor_rows, train, holdout, columns, label, seed)
        metrics["ml_efficacy"]["f1_marginals"] = round(efficacy["f1_synthetic"], 4)
        # Seven forest fits: the stage's alone (benchmarks score many arms with table_scores).
        gain = augmentation(fake, (train, validation, holdout), columns, label, seed)
        metrics["augmentation"] = {k: round(v, 4) for k, v in gain.items()}
        if minority_share(train[label]) < imbalanced_below:
            arms = imbalance(sampler, train, validation, holdout, label, seed)
            # The class's name as a key: every leaf is a number MLflow can log.
            metrics["imbalance"] = {
                "minority": {arms["minority"]: round(arms["minority_share"], 4)},
                "validation": arms["validation"],
                **{a: {k: round(v, 4) for k, v in arms[a].items()} for a in ARMS},
            }
    return check_written(metrics, TABLE), fake


def evaluate_generator(
    params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
) -> Evaluation:
    """The table kind's evaluate: the exported G's rows against the holdout, with the figure."""
    sampler = table_sampler_from_state(generator)
    train, validation, holdout = (load_table_split(paths.PREPARED, s) for s in SPLITS)
    cfg = params.evaluate
    metrics, fake = evaluate_table(
        sampler,
        train,
        validation,
        holdout,
        schema.get("label"),
        cfg.num_samples,
        cfg.seed,
        cfg.imbalanced_below,
    )
    columns = sampler.transformer.columns
    figure = table_figure(holdout, fake, columns, metrics["per_column"], metrics["per_pair"])
    artifacts = {
        "eval/samples.csv": fake.head(100).to_csv(index=False),
        "eval/pair_trends.json": json.dumps(metrics["per_pair"], indent=2),
        "eval/columns.json": json.dumps(column_shares(holdout, fake, columns)),  # for reviews
    }
    return Evaluation(metrics, figure, summary_line(metrics, paths.SAMPLE_GRID), artifacts)

"""Evaluate stage for tables: sample the exported generator, score it against the holdout with
ganmodels/table_metrics.py, next to the same scores of real train rows (the ceiling)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ganmodels.table_metrics import (
    column_shapes,
    detection_auc,
    distance_to_closest_record,
    ml_efficacy,
    pair_trends,
)
from ganmodels.tabular import TableTransformer
from ganmodels.tabular_sampler import ConditionSampler


@torch.no_grad()
def sample_table(
    G: torch.nn.Module,
    transformer: TableTransformer,
    sampler: ConditionSampler,
    n: int,
    seed: int,
) -> pd.DataFrame:
    """n rows from G (eval mode): conditions at the data's own frequencies, seeded noise."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    cond = torch.from_numpy(sampler.sampling_conditions(n, np.random.default_rng(seed)))
    rows = G(z, cond if sampler.cond_dim else None, generator=gen)
    return transformer.inverse_transform(rows.numpy())


def _scores(
    fake: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[dict[str, Any]],
    label: str | None,
    seed: int,
) -> dict[str, Any]:
    shapes = column_shapes(holdout, fake, columns)
    trends = pair_trends(holdout, fake, columns)
    out: dict[str, Any] = {
        "column_shapes": round(float(np.mean(list(shapes.values()))), 4),
        "pair_trends": round(float(np.mean(list(trends.values()))), 4) if trends else 1.0,
        "detection_auc": round(detection_auc(holdout, fake, columns, seed), 4),
        "dcr": {
            k: round(v, 4)
            for k, v in distance_to_closest_record(fake, train, holdout, columns).items()
        },
        "per_column": {k: round(v, 4) for k, v in shapes.items()},
    }
    if label is not None:
        efficacy = ml_efficacy(fake, train, holdout, columns, label, seed)
        out["ml_efficacy"] = {k: round(v, 4) for k, v in efficacy.items()}
    return out


def evaluate_table(
    G: torch.nn.Module,
    transformer: TableTransformer,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    label: str | None,
    num_samples: int,
    seed: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of G's samples against the holdout, with real train rows scored the same way
    (`real_*`: what a perfect generator of this size would get); returns (metrics, samples)."""
    columns = transformer.columns
    sampler = ConditionSampler(transformer.transform(train), transformer.spans)
    fake = sample_table(G, transformer, sampler, num_samples, seed)
    real = train.sample(min(num_samples, len(train)), random_state=seed)
    metrics = _scores(fake, train, holdout, columns, label, seed)
    ceiling = _scores(real, train, holdout, columns, label, seed)
    metrics["num_samples"] = len(fake)
    metrics["holdout_rows"] = len(holdout)
    for key in ("column_shapes", "pair_trends", "detection_auc"):
        metrics[f"real_{key}"] = ceiling[key]
    return metrics, fake

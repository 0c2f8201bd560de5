"""Class imbalance for benchmarks/utility.py: a fixed forest trained on a table's real train rows
with nothing added, with SMOTE's or random oversampling's minority rows, or with our model's
conditional samples of the minority classes, each adding the share of the rows that would
balance the classes (0, 1/4, 1/2 or all) that the validation rows (kept from our model's
training by prepare) choose, scored on the holdout by the minority class's F1 and balanced
accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.tabular_peers import Table, table_csv
from ganmodels.tabular.imbalance import ARMS, imbalance
from ganmodels.tabular.sampling import table_sampler_from_state
from pipeline.config import load_params
from pipeline.data import SPLITS
from pipeline.kinds.tabular.shards import load_table_split
from pipeline.prepare import prepare
from pipeline.train import fit
from tests.helpers import write_params


@dataclass(frozen=True)
class Imbalanced:
    """A table whose label has a class under 10% of the rows (made so by subsampling where
    `keep` says: the share of that class's rows kept, said in the report)."""

    table: Table
    keep: tuple[str, float] | None = None


TABLES = {
    "default": Imbalanced(Table("default", ("ISLR", "Default"), "default")),  # Yes: 3.3%
    "resumes": Imbalanced(Table("resumes", ("AER", "ResumeNames"), "call")),  # yes: 8.0%
    "badhealth": Imbalanced(Table("badhealth", ("COUNT", "badhealth"), "badh")),  # 1: 9.9%
    # The smoke's: penguins with 15% of Chinstrap's rows kept (about 4% of the rows).
    "penguins": Imbalanced(Table("penguins", None, "species"), ("Chinstrap", 0.15)),
}


def table_file(spec: Imbalanced, work: Path, ctgan_python: str) -> Path:
    """The table as a CSV, subsampled where spec.keep says (the same rows for every seed)."""
    csv = table_csv(spec.table, work, ctgan_python)
    if spec.keep:
        level, share = spec.keep
        df = pd.read_csv(csv)
        rows = df.index[df[spec.table.label].astype(str) == level]
        drop = np.random.default_rng(0).permutation(rows)[round(share * len(rows)) :]
        df.drop(index=drop).to_csv(csv, index=False)
    return csv


def fit_ours(
    work: Path, csv: Path, label: str, steps: int, seed: int, train: dict[str, Any],
    data: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    """Prepare (split_seed = seed; `data`: more data keys) and fit our table model; its
    sampler."""
    over = {
        "data": {"kind": "tabular", "source": str(csv), "label": label, "split_seed": seed,
                 **(data or {})},
        "train": {"steps": steps, "seed": seed, "log_every": max(steps // 5, 1),
                  "keep_best": False, "checkpoint_every": steps, "max_failures": 0,
                  "experiment_name": "bench-utility", **train},
    }  # fmt: skip
    params = load_params(write_params(work / "params.yaml", over))
    prepare(params.data, work / "prepared", work)
    _, state = fit(params, work, work / "prepared")
    return table_sampler_from_state(
        {"model_config": state["model_config"], "state_dict": state["G_ema"]}
    )


def run_seed(
    name: str, spec: Imbalanced, csv: Path, work: Path, steps: int, seed: int, train: dict,
    validation: float,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every arm's scores for one seed (one split, one fit of ours), as evaluate gives them
    (ganmodels/tabular/imbalance.py), `validation` of the train rows kept from our model."""
    label = spec.table.label
    sampler = fit_ours(work, csv, label, steps, seed, train, {"validation_fraction": validation})
    splits = [load_table_split(work / "prepared", s) for s in SPLITS]
    arms = imbalance(sampler, *splits, label, seed)
    base = {"data": name, "seed": seed, "minority": arms["minority"],
            "minority_share": round(arms["minority_share"], 4)}  # fmt: skip
    return [{**base, "arm": arm, **arms[arm]} for arm in ARMS]

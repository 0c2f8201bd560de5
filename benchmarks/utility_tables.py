"""Class imbalance for benchmarks/utility.py: a fixed forest trained on a table's real train rows
with nothing added, with SMOTE's or random oversampling's minority rows, or with our model's
conditional samples of the minority classes (as many as SMOTE adds: each class up to the
majority's count), scored on the holdout by the minority class's F1 and balanced accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.tabular_peers import Table, table_csv
from ganmodels.tabular.metrics import Features, forest
from ganmodels.tabular.sampling import table_sampler_from_state
from pipeline.augment import synthetic_counts
from pipeline.config import load_params
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
ARMS = ("none", "smote", "oversampling", "ours")


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


def _oversampled(arm: str, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """imbalanced-learn's SMOTE (on the forest's encoded rows: numbers standardized,
    categories one-hot) or random oversampling, each class up to the majority's count."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    smallest = int(np.unique(y, return_counts=True)[1].min())
    if arm == "smote":  # its neighbours must exist within the smallest class
        return SMOTE(random_state=seed, k_neighbors=min(5, smallest - 1)).fit_resample(x, y)
    return RandomOverSampler(random_state=seed).fit_resample(x, y)


def scores(truth: np.ndarray, guess: np.ndarray, minority: str) -> dict[str, float]:
    """The minority class's F1, balanced accuracy and macro F1 on the holdout."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    return {
        "minority_f1": float(f1_score(truth, guess, labels=[minority], average="macro")),
        "balanced_accuracy": float(balanced_accuracy_score(truth, guess)),
        "macro_f1": float(f1_score(truth, guess, average="macro")),
    }


def run_seed(
    name: str, spec: Imbalanced, csv: Path, work: Path, steps: int, seed: int, train: dict
) -> list[dict[str, Any]]:
    """Every arm's scores for one seed (one split, one fit of ours)."""
    label = spec.table.label
    sampler = fit_ours(work, csv, label, steps, seed, train)
    real = load_table_split(work / "prepared", "train").dropna(subset=[label])
    holdout = load_table_split(work / "prepared", "holdout").dropna(subset=[label])
    y = real[label].astype(str).to_numpy()
    levels, counts = np.unique(y, return_counts=True)
    minority = str(levels[counts.argmin()])
    features = Features(real, [c for c in sampler.transformer.columns if c["name"] != label])
    x, truth = features(real), holdout[label].astype(str).to_numpy()
    want = synthetic_counts(
        counts.tolist(), int(counts.max() * len(counts) - counts.sum()), "equal"
    )
    parts = [sampler.sample(n, seed + k, column=label, value=str(level))
             for k, (level, n) in enumerate(zip(levels, want, strict=True)) if n]  # fmt: skip
    added = pd.concat(parts, ignore_index=True) if parts else real.iloc[:0]
    sets = {
        "none": (x, y),
        "smote": _oversampled("smote", x, y, seed),
        "oversampling": _oversampled("oversampling", x, y, seed),
        "ours": (np.concatenate([x, features(added)]),
                 np.concatenate([y, added[label].astype(str).to_numpy()])),
    }  # fmt: skip
    rows = []
    for arm, (fx, fy) in sets.items():
        guess = forest(fx, fy, features(holdout), seed)
        rows.append({"data": name, "arm": arm, "seed": seed, "minority": minority,
                     "minority_share": round(float(counts.min() / counts.sum()), 4),
                     "added": int(len(fy) - len(y)), **scores(truth, guess, minority)})  # fmt: skip
    return rows

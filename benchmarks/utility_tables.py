"""Class imbalance for benchmarks/utility.py: a fixed forest trained on a table's real train rows
with nothing added, with SMOTE's or random oversampling's minority rows, or with our model's
conditional samples of the minority classes, each adding the share of the rows that would
balance the classes (0, 1/4, 1/2 or all) that a validation split carved from train chooses,
scored on the holdout by the minority class's F1 and balanced accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.tabular_peers import Table, table_csv
from ganmodels.tabular.metrics import Features, forest
from ganmodels.tabular.sampling import table_sampler_from_state
from ganmodels.utility import Augment, choose_amount
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
AMOUNTS = (0.0, 0.25, 0.5, 1.0)  # shares of the rows that would balance the classes


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


def _toward_balance(y: np.ndarray, amount: float) -> dict[str, int]:
    """Each class's count after adding `amount` of the rows that would bring it to the
    majority's count (amount 1: every class as large as the majority)."""
    levels, counts = np.unique(y, return_counts=True)
    top = counts.max()
    return {str(k): int(c + round(amount * (top - c))) for k, c in zip(levels, counts, strict=True)}


def oversampler(arm: str, seed: int) -> Augment:
    """augment(x, y, amount) with imbalanced-learn's SMOTE (on the forest's encoded rows:
    numbers standardized, categories one-hot) or random oversampling."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    def augment(x: np.ndarray, y: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
        if amount == 0:
            return x, y
        want = _toward_balance(y, amount)
        if arm == "smote":  # its neighbours must exist within the smallest class
            k = min(5, int(np.unique(y, return_counts=True)[1].min()) - 1)
            return SMOTE(sampling_strategy=want, random_state=seed, k_neighbors=k).fit_resample(
                x, y
            )
        return RandomOverSampler(sampling_strategy=want, random_state=seed).fit_resample(x, y)

    return augment


def from_pools(pools: dict[str, np.ndarray]) -> Augment:
    """augment(x, y, amount) adding the first rows of each class's pool of our samples."""

    def augment(x: np.ndarray, y: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
        have = dict(zip(*np.unique(y, return_counts=True), strict=True))
        take = {k: min(n - have[k], len(pools[k])) for k, n in _toward_balance(y, amount).items()}
        parts = [pools[k][:n] for k, n in take.items() if n > 0]
        labels = [np.full(n, k, dtype=y.dtype) for k, n in take.items() if n > 0]
        return np.concatenate([x, *parts]), np.concatenate([y, *labels])

    return augment


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
    """Every arm's scores for one seed (one split, one fit of ours): each oversampler adds the
    share of the balancing rows (AMOUNTS) a validation split carved from train chooses by the
    minority's F1, 0 included; the holdout scores the choice."""
    label = spec.table.label
    sampler = fit_ours(work, csv, label, steps, seed, train)
    real = load_table_split(work / "prepared", "train").dropna(subset=[label])
    holdout = load_table_split(work / "prepared", "holdout").dropna(subset=[label])
    y = real[label].astype(str).to_numpy()
    levels, counts = np.unique(y, return_counts=True)
    minority = str(levels[counts.argmin()])
    features = Features(real, [c for c in sampler.transformer.columns if c["name"] != label])
    x, hx, truth = features(real), features(holdout), holdout[label].astype(str).to_numpy()
    pools = {str(k): features(sampler.sample(int(counts.max() - c), seed + i, column=label,
                                             value=str(k))) if c < counts.max() else x[:0]
             for i, (k, c) in enumerate(zip(levels, counts, strict=True))}  # fmt: skip
    arms = {"smote": oversampler("smote", seed), "oversampling": oversampler("ros", seed),
            "ours": from_pools(pools)}  # fmt: skip

    def fit_predict(fx: np.ndarray, fy: np.ndarray, ex: np.ndarray) -> np.ndarray:
        return forest(fx, fy, ex, seed)

    def f1(t: np.ndarray, g: np.ndarray) -> float:
        return scores(t, g, minority)["minority_f1"]

    base = {"data": name, "seed": seed, "minority": minority,
            "minority_share": round(float(counts.min() / counts.sum()), 4)}  # fmt: skip
    rows = [{**base, "arm": "none", "amount": 0.0, "added": 0,
             **scores(truth, fit_predict(x, y, hx), minority)}]  # fmt: skip
    for arm, augment in arms.items():
        choice = choose_amount(x, y, augment, fit_predict, f1, seed, AMOUNTS)
        fx, fy = augment(x, y, choice.ratio)
        # Amount 0 is the real rows' own model, not a refit that might differ by chance.
        got = rows[0] if choice.ratio == 0 else scores(truth, fit_predict(fx, fy, hx), minority)
        kept = {k: got[k] for k in ("minority_f1", "balanced_accuracy", "macro_f1")}
        rows.append({**base, "arm": arm, "amount": choice.ratio, "added": int(len(fy) - len(y)),
                     **kept})  # fmt: skip
    return rows

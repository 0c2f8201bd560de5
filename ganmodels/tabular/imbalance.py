"""Class imbalance: does adding our conditional samples of the small classes help a fixed forest
more than the classic oversamplers (imbalanced-learn's SMOTE and random oversampling)? Each
oversampler adds the share (AMOUNTS) of the rows that would bring every class to the majority's
count that the validation rows (which the generator never trained on) choose by the minority
class's F1 (0 allowed: adding rows did not help there); the forest then fits every real row
plus that share, and the holdout scores the choice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.metrics import Features, forest
from ganmodels.tabular.sampling import TableSampler
from ganmodels.utility import Augment, choose_amount

AMOUNTS = (0.0, 0.25, 0.5, 1.0)  # shares of the rows that would balance the classes
ARMS = ("none", "smote", "oversampling", "ours")


def _counts(y: np.ndarray) -> dict[str, int]:
    """Rows per class."""
    levels, counts = np.unique(y, return_counts=True)
    return {str(k): int(c) for k, c in zip(levels, counts, strict=True)}


def toward_balance(y: np.ndarray, amount: float) -> dict[str, int]:
    """Each class's count after adding `amount` of the rows that would bring it to the
    majority's count (amount 1: every class as large as the majority)."""
    have = _counts(y)
    top = max(have.values())
    return {k: c + round(amount * (top - c)) for k, c in have.items()}


def oversampler(arm: str, seed: int) -> Augment:
    """augment(x, y, amount) with imbalanced-learn's SMOTE (on the forest's encoded rows:
    numbers standardized, categories one-hot) or random oversampling ("ros")."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    def augment(x: np.ndarray, y: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
        if amount == 0:
            return x, y
        want = toward_balance(y, amount)
        if arm == "smote":  # its neighbours must exist within each class it grows
            have = _counts(y)
            # A class of one row has no neighbour to interpolate toward: SMOTE leaves it be.
            want = {c: n if have[c] > 1 else have[c] for c, n in want.items()}
            grown = [have[c] for c, n in want.items() if n > have[c]]
            if not grown:
                return x, y
            k = min(5, min(grown) - 1)
            smote = SMOTE(sampling_strategy=want, random_state=seed, k_neighbors=k)
            return smote.fit_resample(x, y)
        return RandomOverSampler(sampling_strategy=want, random_state=seed).fit_resample(x, y)

    return augment


def from_pools(pools: dict[str, np.ndarray]) -> Augment:
    """augment(x, y, amount) adding the first rows of each class's pool of our samples."""

    def augment(x: np.ndarray, y: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
        have = _counts(y)
        take = {k: min(n - have[k], len(pools[k])) for k, n in toward_balance(y, amount).items()}
        parts = [pools[k][:n] for k, n in take.items() if n > 0]
        labels = [np.full(n, k, dtype=y.dtype) for k, n in take.items() if n > 0]
        return np.concatenate([x, *parts]), np.concatenate([y, *labels])

    return augment


def minority_f1(truth: np.ndarray, guess: np.ndarray, minority: str) -> float:
    """The minority class's F1 (in numpy: the choice's bootstrap asks it hundreds of times)."""
    said, real = guess == minority, truth == minority
    both = int(said.sum() + real.sum())
    return float(2 * (said & real).sum() / both) if both else 0.0


def scores(truth: np.ndarray, guess: np.ndarray, minority: str) -> dict[str, float]:
    """The minority class's F1, balanced accuracy and macro F1."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    return {
        "minority_f1": minority_f1(truth, guess, minority),
        "balanced_accuracy": float(balanced_accuracy_score(truth, guess)),
        "macro_f1": float(f1_score(truth, guess, average="macro")),
    }


def minority_share(labels: pd.Series) -> float:
    """The smallest class's share of the labelled rows (1.0 with one class or none)."""
    counts = labels.dropna().astype(str).value_counts()
    return float(counts.min() / counts.sum()) if len(counts) > 1 else 1.0


def imbalance(
    sampler: TableSampler,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    holdout: pd.DataFrame,
    label: str,
    seed: int,
) -> dict[str, Any]:
    """Every arm's holdout scores (none, SMOTE, random oversampling, our samples of each class
    drawn from `sampler`), each with the share its validation rows chose and the rows added
    to every real row (train and validation); the minority class and its share of them; how
    many validation rows (and minority ones) the choices stood on."""
    fit_rows, val_rows, held = (d.dropna(subset=[label]) for d in (train, validation, holdout))
    real = pd.concat([fit_rows, val_rows], ignore_index=True)
    # Scaled on the train rows, as the augmentation gain's forest: the same real-only fit.
    features = Features(fit_rows, [c for c in sampler.transformer.columns if c["name"] != label])

    def xy(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return features(rows), rows[label].astype(str).to_numpy()

    (x, y), fit, val, (hx, truth) = (xy(d) for d in (real, fit_rows, val_rows, held))
    levels, counts = np.unique(y, return_counts=True)
    minority = str(levels[counts.argmin()])
    pools = {
        str(k): features(
            sampler.sample(int(counts.max() - c), seed + i, column=label, value=str(k))
        )
        if c < counts.max()
        else x[:0]
        for i, (k, c) in enumerate(zip(levels, counts, strict=True))
    }
    arms = {"smote": oversampler("smote", seed), "oversampling": oversampler("ros", seed),
            "ours": from_pools(pools)}  # fmt: skip

    def fit_predict(fx: np.ndarray, fy: np.ndarray, ex: np.ndarray) -> np.ndarray:
        return forest(fx, fy, ex, seed)

    def f1(t: np.ndarray, g: np.ndarray) -> float:
        return minority_f1(t, g, minority)

    none = scores(truth, fit_predict(x, y, hx), minority)
    # What the choices stood on: with few minority rows there, little can be seen.
    stood = {"rows": len(val[1]), "minority_rows": int((val[1] == minority).sum())}
    out: dict[str, Any] = {"minority": minority, "minority_share": float(counts.min() / len(y)),
                           "none": {**none, "amount": 0.0, "added": 0},
                           "validation": stood}  # fmt: skip
    for arm, augment in arms.items():
        choice = choose_amount(fit, val, augment, fit_predict, f1, seed, AMOUNTS)
        ax, ay = augment(x, y, choice.ratio)
        # Amount 0 is the real rows' own model, not a refit that might differ by chance.
        got = none if choice.ratio == 0 else scores(truth, fit_predict(ax, ay, hx), minority)
        out[arm] = {**got, "amount": choice.ratio, "added": int(len(ay) - len(y))}
    return out

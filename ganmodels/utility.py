"""Does synthetic data help? The augmentation gain of a fixed downstream classifier: trained on
the real train rows alone vs on real plus synthetic rows, at a mixing ratio chosen on a
validation split carved from train (the holdout only scores the choice, never makes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# fit_predict(x_fit, y_fit, x_eval) -> predicted labels of x_eval: the downstream classifier.
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# score(y_true, y_pred) -> higher is better (e.g. macro F1).
Score = Callable[[np.ndarray, np.ndarray], float]
# augment(x, y, amount) -> (x, y) with rows added as amount says (amount 0: nothing added).
Augment = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
RATIOS = (0.0, 0.25, 0.5, 1.0, 2.0)  # synthetic rows per real row


@dataclass(frozen=True)
class RatioChoice:
    """The mixing ratio the validation split chose, and each candidate's validation score."""

    ratio: float
    validation: dict[float, float]


def _mix(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """x plus the first round(ratio * len(x)) synthetic rows (fewer if there are fewer)."""
    k = min(round(ratio * len(x)), len(sx))
    return np.concatenate([x, sx[:k]]), np.concatenate([y, sy[:k]])


def choose_amount(
    x: np.ndarray,
    y: np.ndarray,
    augment: Augment,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    amounts: tuple[float, ...],
    validation: float = 0.2,
) -> RatioChoice:
    """Carve a stratified validation share from the train rows (x, y), fit on the rest as
    augment(rest, amount) makes it for each amount and keep the best validation score; a tie
    keeps the smaller amount, so added rows must earn their place (0 means: they do not help)."""
    from sklearn.model_selection import train_test_split

    counts = np.unique(y, return_counts=True)[1]
    # A class of one row cannot be split, nor can a validation share smaller than the classes.
    stratify = y if counts.min() >= 2 and validation * len(y) >= len(counts) else None
    fit, val = train_test_split(
        np.arange(len(y)), test_size=validation, random_state=seed, stratify=stratify
    )
    scores = {}
    for a in sorted(amounts):
        mx, my = augment(x[fit], y[fit], a)
        scores[a] = float(score(y[val], fit_predict(mx, my, x[val])))
    best = max(scores.values())
    return RatioChoice(min(a for a, s in scores.items() if s >= best - 1e-12), scores)


def choose_ratio(
    x: np.ndarray,
    y: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
    validation: float = 0.2,
) -> RatioChoice:
    """choose_amount where an amount is a ratio of synthetic rows (sx, sy) to real ones."""

    def augment(fx: np.ndarray, fy: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        return _mix(fx, fy, sx, sy, r)

    return choose_amount(x, y, augment, fit_predict, score, seed, ratios, validation)


def augmentation_gain(
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    holdout: tuple[np.ndarray, np.ndarray],
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
) -> dict[str, float]:
    """The holdout score of the classifier trained on real train rows alone and on real plus
    synthetic rows at the ratio choose_ratio picks from train alone (among the ratios the
    samples suffice for); their difference."""
    # Only ratios the samples can fill for the whole train split: a capped ratio would be
    # reported as one it was not.
    usable = tuple(r for r in ratios if round(r * len(train[1])) <= len(synthetic[1]))
    choice = (
        choose_ratio(*train, *synthetic, fit_predict, score, seed, usable)
        if any(usable)
        else RatioChoice(0.0, {})  # too few samples for any ratio: nothing to choose
    )
    real = float(score(holdout[1], fit_predict(*train, holdout[0])))
    augmented = real  # ratio 0: the same model, not a refit that might differ by chance
    if choice.ratio > 0:
        mixed = _mix(*train, *synthetic, choice.ratio)
        augmented = float(score(holdout[1], fit_predict(*mixed, holdout[0])))
    return {"real": real, "augmented": augmented, "gain": augmented - real, "ratio": choice.ratio}

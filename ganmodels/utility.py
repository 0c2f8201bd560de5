"""Does synthetic data help? The augmentation gain of a fixed downstream classifier: trained on
the real train rows alone vs on real plus synthetic rows, at a mixing ratio chosen by
cross-validation on the train rows (the holdout only scores the choice, never makes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# fit_predict(x_fit, y_fit, x_eval) -> predicted labels of x_eval: the downstream classifier.
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# score(y_true, y_pred) -> higher is better (e.g. macro F1).
Score = Callable[[np.ndarray, np.ndarray], float]
# augment(x, y, amount) -> (x, y) with rows added as amount says (amount 0: nothing added).
Augment = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
RATIOS = (0.0, 0.25, 0.5, 1.0, 2.0)  # synthetic rows per real row


FOLDS = 5  # cross-validation folds of the choice


@dataclass(frozen=True)
class RatioChoice:
    """The amount the cross-validated choice made; each candidate's mean score over the folds
    and the standard error of its paired gain over amount 0 (the folds' noise)."""

    ratio: float
    validation: dict[float, float]
    gain_se: dict[float, float] = field(default_factory=dict)


def _mix(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """x plus the first round(ratio * len(x)) synthetic rows (fewer if there are fewer)."""
    k = min(round(ratio * len(x)), len(sx))
    return np.concatenate([x, sx[:k]]), np.concatenate([y, sy[:k]])


def _folds(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, held) row indices of each fold: stratified where every class fills the folds."""
    from sklearn.model_selection import KFold, StratifiedKFold

    k = min(folds, len(y))
    if k < 2:
        return []
    counts = np.unique(y, return_counts=True)[1]
    split = StratifiedKFold if counts.min() >= k else KFold  # a rare class cannot be spread
    return list(split(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def choose_amount(
    x: np.ndarray,
    y: np.ndarray,
    augment: Augment,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    amounts: tuple[float, ...],
    folds: int = FOLDS,
) -> RatioChoice:
    """Cross-validate each amount on the train rows (x, y) alone: fit on the other folds as
    augment(rows, amount) makes them, score on the held fold. An amount above 0 must beat
    amount 0 on the same folds by more than one standard error of that paired gain (the
    one-standard-error rule): a single lucky split must not add rows that hurt. The best such
    amount wins (a tie keeps the smaller); none: 0, the added rows did not help."""
    splits = _folds(y, folds, seed)
    if not splits:  # too few rows to hold any out: nothing can be chosen
        return RatioChoice(0.0, {})
    per: dict[float, list[float]] = {a: [] for a in sorted({0.0, *amounts})}
    for fit, held in splits:
        for a in per:
            mx, my = augment(x[fit], y[fit], a)
            per[a].append(float(score(y[held], fit_predict(mx, my, x[held]))))
    means = {a: float(np.mean(s)) for a, s in per.items()}
    gain = {a: np.array(s) - np.array(per[0.0]) for a, s in per.items()}
    se = {a: float(np.std(g, ddof=1) / np.sqrt(len(g))) for a, g in gain.items()}
    earned = [a for a in per if a == 0 or means[a] - means[0.0] > se[a]]
    best = max(means[a] for a in earned)
    return RatioChoice(min(a for a in earned if means[a] >= best - 1e-12), means, se)


def choose_ratio(
    x: np.ndarray,
    y: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
    folds: int = FOLDS,
) -> RatioChoice:
    """choose_amount where an amount is a ratio of synthetic rows (sx, sy) to real ones."""

    def augment(fx: np.ndarray, fy: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        return _mix(fx, fy, sx, sy, r)

    return choose_amount(x, y, augment, fit_predict, score, seed, ratios, folds)


def augmentation_gain(
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    holdout: tuple[np.ndarray, np.ndarray],
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
    folds: int = FOLDS,
) -> dict[str, float]:
    """The holdout score of the classifier trained on real train rows alone and on real plus
    synthetic rows at the ratio choose_ratio picks from train alone (among the ratios the
    samples suffice for); their difference."""
    # Only ratios the samples can fill for the whole train split: a capped ratio would be
    # reported as one it was not.
    usable = tuple(r for r in ratios if round(r * len(train[1])) <= len(synthetic[1]))
    choice = (
        choose_ratio(*train, *synthetic, fit_predict, score, seed, usable, folds)
        if any(usable)
        else RatioChoice(0.0, {})  # too few samples for any ratio: nothing to choose
    )
    real = float(score(holdout[1], fit_predict(*train, holdout[0])))
    augmented = real  # ratio 0: the same model, not a refit that might differ by chance
    if choice.ratio > 0:
        mixed = _mix(*train, *synthetic, choice.ratio)
        augmented = float(score(holdout[1], fit_predict(*mixed, holdout[0])))
    return {"real": real, "augmented": augmented, "gain": augmented - real, "ratio": choice.ratio}

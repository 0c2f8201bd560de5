"""Does synthetic data help? The augmentation gain of a fixed downstream classifier: trained on
the real rows alone vs on real plus synthetic rows, at a mixing ratio chosen on validation rows
the generator never trained on (the holdout only scores the choice, never makes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

# fit_predict(x_fit, y_fit, x_eval) -> predicted labels of x_eval: the downstream classifier.
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# score(y_true, y_pred) -> higher is better (e.g. macro F1).
Score = Callable[[np.ndarray, np.ndarray], float]
# augment(x, y, amount) -> (x, y) with rows added as amount says (amount 0: nothing added).
Augment = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]
RATIOS = (0.0, 0.25, 0.5, 1.0, 2.0)  # synthetic rows per real row


Rows = tuple[np.ndarray, np.ndarray]  # (x, y)
BOOTSTRAPS = 200  # resamples of the validation rows behind a gain's standard error
ALPHA = 0.05  # one-sided level at which an added amount must beat adding nothing
MIN_VALIDATION = 20  # fewer validation rows: no choice (a bootstrap of 1 row has no spread)


@dataclass(frozen=True)
class RatioChoice:
    """The amount the choice made; each candidate's score on the validation rows and the
    standard error of its paired gain over amount 0 (the validation rows' noise)."""

    ratio: float
    validation: dict[float, float]
    gain_se: dict[float, float] = field(default_factory=dict)


def _mix(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """x plus the first round(ratio * len(x)) synthetic rows (fewer if there are fewer)."""
    k = min(round(ratio * len(x)), len(sx))
    return np.concatenate([x, sx[:k]]), np.concatenate([y, sy[:k]])


def choose_amount(
    train: Rows,
    validation: Rows,
    augment: Augment,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    amounts: tuple[float, ...],
) -> RatioChoice:
    """Fit on augment(*train, amount) for each amount and score on the validation rows, which
    the generator never trained on (folds of its own train rows overstate the gain: its
    samples sit near them). An amount above 0 must beat amount 0 at a one-sided 5% level,
    Bonferroni-corrected over the amounts tried: its paired gain over `z` standard errors (a
    bootstrap of the validation rows, the same resamples for every amount). Rows that may
    hurt are added only on evidence: with four amounts a one-standard-error bar lets one of
    them through by chance about half the time. The best such amount wins (a tie keeps the
    smaller); none: 0, the added rows did not help (or fewer than MIN_VALIDATION rows)."""
    xv, yv = validation
    if len(yv) < MIN_VALIDATION:  # too few to tell a gain from chance: add nothing
        return RatioChoice(0.0, {})
    guesses = {a: fit_predict(*augment(*train, a), xv) for a in sorted({0.0, *amounts})}
    means = {a: float(score(yv, p)) for a, p in guesses.items()}
    draws = np.random.default_rng(seed).integers(0, len(yv), (BOOTSTRAPS, len(yv)))
    base = np.array([score(yv[d], guesses[0.0][d]) for d in draws])
    se = {
        a: float(np.std([score(yv[d], p[d]) for d in draws] - base, ddof=1)) if a else 0.0
        for a, p in guesses.items()
    }
    z = NormalDist().inv_cdf(1 - ALPHA / max(len(guesses) - 1, 1))
    earned = [a for a in guesses if a == 0 or means[a] - means[0.0] > z * se[a]]
    best = max(means[a] for a in earned)
    return RatioChoice(min(a for a in earned if means[a] >= best - 1e-12), means, se)


def choose_ratio(
    train: Rows,
    validation: Rows,
    synthetic: Rows,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
) -> RatioChoice:
    """choose_amount where an amount is a ratio of synthetic rows to real ones."""

    def augment(fx: np.ndarray, fy: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        return _mix(fx, fy, *synthetic, r)

    return choose_amount(train, validation, augment, fit_predict, score, seed, ratios)


def augmentation_gain(
    train: Rows,
    validation: Rows,
    synthetic: Rows,
    holdout: Rows,
    fit_predict: FitPredict,
    score: Score,
    seed: int,
    ratios: tuple[float, ...] = RATIOS,
) -> dict[str, float]:
    """The holdout score of the classifier trained on every real row (train and validation)
    alone and with synthetic rows at the ratio choose_ratio picks on the validation rows
    (among the ratios the samples suffice for); their difference."""
    real_x, real_y = (np.concatenate([a, b]) for a, b in zip(train, validation, strict=True))
    # Only ratios the samples can fill for every real row: a capped ratio would be reported
    # as one it was not.
    usable = tuple(r for r in ratios if round(r * len(real_y)) <= len(synthetic[1]))
    choice = (
        choose_ratio(train, validation, synthetic, fit_predict, score, seed, usable)
        if any(usable)
        else RatioChoice(0.0, {})  # too few samples for any ratio: nothing to choose
    )
    real = float(score(holdout[1], fit_predict(real_x, real_y, holdout[0])))
    augmented = real  # ratio 0: the same model, not a refit that might differ by chance
    if choice.ratio > 0:
        mixed = _mix(real_x, real_y, *synthetic, choice.ratio)
        augmented = float(score(holdout[1], fit_predict(*mixed, holdout[0])))
    return {"real": real, "augmented": augmented, "gain": augmented - real, "ratio": choice.ratio,
            "validation_rows": float(len(validation[1]))}  # fmt: skip

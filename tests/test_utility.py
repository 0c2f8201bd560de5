"""The augmentation gain against cases whose answer is known: more rows of the same data help a
classifier trained on few; rows with random labels do not, and the cross-validated choice then
chooses ratio 0 (gain exactly 0); the choice never sees a holdout row."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier

from ganmodels.utility import augmentation_gain, choose_amount, choose_ratio


def knn(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
    """A deterministic downstream classifier."""
    return KNeighborsClassifier(3).fit(x, y).predict(x_eval)


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    return float(f1_score(y, p, average="macro"))


@pytest.fixture(scope="module")
def digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """10 train digits per class; 800 others as 'synthetic' rows; the rest the holdout."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    train = np.concatenate([np.flatnonzero(y == k)[:10] for k in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), train)
    return {"train": (x[train], y[train]), "synthetic": (x[rest[:800]], y[rest[:800]]),
            "holdout": (x[rest[800:]], y[rest[800:]])}  # fmt: skip


def test_more_rows_of_the_data_help_and_random_labels_are_refused(digits: dict) -> None:
    good = augmentation_gain(digits["train"], digits["synthetic"], digits["holdout"], knn,
                             macro_f1, 0)  # fmt: skip
    assert good["ratio"] > 0 and good["gain"] > 0.03, good
    x, y = digits["synthetic"]
    noise = (x, np.random.default_rng(1).permutation(y))  # right rows, random labels
    bad = augmentation_gain(digits["train"], noise, digits["holdout"], knn, macro_f1, 0)
    assert bad["ratio"] == 0 and bad["gain"] == 0 and bad["augmented"] == bad["real"], bad


def test_the_ratio_choice_never_sees_a_holdout_row(digits: dict) -> None:
    seen: list[np.ndarray] = []

    def spy(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        seen.append(x_eval)
        return knn(x, y, x_eval)

    augmentation_gain(digits["train"], digits["synthetic"], digits["holdout"], spy, macro_f1, 0)
    holdout = {row.tobytes() for row in digits["holdout"][0]}
    touched = [any(row.tobytes() in holdout for row in x) for x in seen]
    # Every candidate ratio scored on rows carved from train; the holdout only scores the two
    # final fits (real alone, real plus synthetic at the chosen ratio), after the choice.
    assert touched == [False] * (len(seen) - 2) + [True, True]
    choice = choose_ratio(*digits["train"], *digits["synthetic"], knn, macro_f1, 0)
    assert set(choice.validation) == {0.0, 0.25, 0.5, 1.0, 2.0}


def test_samples_too_few_for_any_ratio_leave_ratio_0_without_a_fit(digits: dict) -> None:
    """25 of 100 train rows would be ratio 0.25: 10 samples fill none; nothing is chosen."""
    seen: list[np.ndarray] = []

    def spy(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        seen.append(x_eval)
        return knn(x, y, x_eval)

    few = tuple(part[:10] for part in digits["synthetic"])
    out = augmentation_gain(digits["train"], few, digits["holdout"], spy, macro_f1, 0)
    assert out["ratio"] == 0 and out["gain"] == 0 and len(seen) == 1  # the real-only fit alone


def test_an_amount_must_beat_0_by_more_than_the_folds_noise() -> None:
    """Hand-set fold scores: a mean gain of +0.01 that swings by fold is refused (ratio 0);
    a steady +0.02 on every fold is chosen."""
    folds = {
        0.0: [0.80, 0.82, 0.78, 0.81, 0.79],
        0.5: [0.85, 0.78, 0.80, 0.86, 0.76],  # gains +.05 -.04 +.02 +.05 -.03: SE 0.019
        1.0: [0.82, 0.84, 0.80, 0.83, 0.81],  # +.02 on each fold: SE 0
    }
    x, y = np.zeros((50, 1)), np.arange(50) % 2

    def choose(amounts: tuple[float, ...]) -> float:
        left = {a: list(s) for a, s in folds.items()}

        def augment(fx: np.ndarray, fy: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
            return fx, np.full(len(fy), a)  # the labels carry the amount to the score

        def fit_predict(fx: np.ndarray, fy: np.ndarray, ex: np.ndarray) -> np.ndarray:
            return np.full(len(ex), fy[0])

        def score(truth: np.ndarray, guess: np.ndarray) -> float:
            return left[float(guess[0])].pop(0)  # each amount's folds in order

        return choose_amount(x, y, augment, fit_predict, score, 0, amounts).ratio

    assert choose((0.0, 0.5)) == 0.0
    assert choose((0.0, 0.5, 1.0)) == 1.0

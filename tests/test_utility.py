"""The augmentation gain against cases whose answer is known: more rows of the same data help a
classifier trained on few; rows with random labels do not, and the choice on the validation rows
then chooses ratio 0 (gain exactly 0); the choice never sees a holdout row."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier

from ganmodels.utility import RatioChoice, augmentation_gain, choose_amount, choose_ratio


def knn(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
    """A deterministic downstream classifier."""
    return KNeighborsClassifier(3).fit(x, y).predict(x_eval)


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    return float(f1_score(y, p, average="macro"))


@pytest.fixture(scope="module")
def digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """10 train digits per class and 10 validation ones; 800 others as 'synthetic' rows; the
    rest the holdout."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    train = np.concatenate([np.flatnonzero(y == k)[:10] for k in range(10)])
    val = np.concatenate([np.flatnonzero(y == k)[10:20] for k in range(10)])
    rest = np.setdiff1d(np.arange(len(y)), np.concatenate([train, val]))
    return {"train": (x[train], y[train]), "validation": (x[val], y[val]),
            "synthetic": (x[rest[:800]], y[rest[:800]]),
            "holdout": (x[rest[800:]], y[rest[800:]])}  # fmt: skip


def gain(d: dict, fit_predict: object = knn, synthetic: object = None) -> dict[str, float]:
    """augmentation_gain on the fixture's splits (synthetic: other rows than its own)."""
    return augmentation_gain(d["train"], d["validation"], synthetic or d["synthetic"],
                             d["holdout"], fit_predict, macro_f1, 0)  # fmt: skip


def test_more_rows_of_the_data_help_and_random_labels_are_refused(digits: dict) -> None:
    good = gain(digits)
    assert good["ratio"] > 0 and good["gain"] > 0.03 and good["validation_rows"] == 100, good
    x, y = digits["synthetic"]
    noise = (x, np.random.default_rng(1).permutation(y))  # right rows, random labels
    bad = gain(digits, synthetic=noise)
    assert bad["ratio"] == 0 and bad["gain"] == 0 and bad["augmented"] == bad["real"], bad


def test_the_ratio_choice_never_sees_a_holdout_row(digits: dict) -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        seen.append((x, x_eval))
        return knn(x, y, x_eval)

    gain(digits, spy)
    rows = {k: {r.tobytes() for r in digits[k][0]} for k in ("validation", "holdout")}

    def has(part: np.ndarray, split: str) -> bool:
        return any(r.tobytes() in rows[split] for r in part)

    # Every candidate ratio fits on train rows (plus samples) and is scored on the validation
    # rows alone; the holdout only scores the two final fits (every real row alone, and with
    # samples at the chosen ratio), after the choice.
    assert [(has(f, "validation"), has(e, "holdout")) for f, e in seen] == [(False, False)] * (
        len(seen) - 2
    ) + [(True, True)] * 2
    assert all(has(e, "validation") and len(e) == 100 for _, e in seen[:-2])
    choice = choose_ratio(digits["train"], digits["validation"], digits["synthetic"], knn,
                          macro_f1, 0)  # fmt: skip
    assert set(choice.validation) == {0.0, 0.25, 0.5, 1.0, 2.0}


def test_samples_too_few_for_any_ratio_leave_ratio_0_without_a_fit(digits: dict) -> None:
    """25% of the 200 real rows would be ratio 0.25: 10 samples fill none; nothing is
    chosen."""
    seen: list[np.ndarray] = []

    def spy(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        seen.append(x_eval)
        return knn(x, y, x_eval)

    few = tuple(part[:10] for part in digits["synthetic"])
    out = gain(digits, spy, few)
    assert out["ratio"] == 0 and out["gain"] == 0 and len(seen) == 1  # the real-only fit alone


def test_an_amount_must_beat_0_beyond_the_validation_noise() -> None:
    """Hand-set predictions on 100 validation rows, amount 0 right on 80: amount 0.25 right on
    4 more and wrong on 1 other (+0.03, 1.4 standard errors: over one, under the corrected
    bar) and amount 0.5 right on 3 more and wrong on 2 others (+0.01) are refused; amount 1
    right on 10 more and wrong on none (+0.10, 3.3 standard errors) is chosen; no validation
    rows: 0."""
    truth = np.arange(100) % 2
    wrong = {0.0: set(range(80, 100)), 0.25: set(range(84, 100)) | {0},
             0.5: set(range(83, 100)) | {0, 1}, 1.0: set(range(90, 100))}  # fmt: skip
    guesses = {a: np.array([1 - t if i in w else t for i, t in enumerate(truth)])
               for a, w in wrong.items()}  # fmt: skip
    train = (np.zeros((50, 1)), np.arange(50) % 2)

    def augment(fx: np.ndarray, fy: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
        return fx, np.full(len(fy), a)  # the labels carry the amount to the fit

    def fit_predict(fx: np.ndarray, fy: np.ndarray, ex: np.ndarray) -> np.ndarray:
        return guesses[float(fy[0])][: len(ex)]

    def accuracy(t: np.ndarray, p: np.ndarray) -> float:
        return float((t == p).mean())

    def choose(amounts: tuple[float, ...], n: int = 100) -> RatioChoice:
        validation = (np.zeros((n, 1)), truth[:n])
        return choose_amount(train, validation, augment, fit_predict, accuracy, 0, amounts)

    one = choose((0.0, 0.25))
    assert one.ratio == 0.0 and 0.03 - 1e-9 > one.gain_se[0.25] > 0.03 / 2.0  # 1-2 SE: refused
    assert choose((0.0, 0.25, 0.5)).ratio == 0.0
    assert choose((0.0, 0.25, 0.5, 1.0)).ratio == 1.0
    assert choose((0.0, 0.5, 1.0), n=0).ratio == 0.0

"""The privacy checks against cases whose answer is known: a generator that never saw the
training rows leaks nothing (membership AUC about 0.5, copy rate about 0.05); one that copies
them is caught (AUC and copy rate near 1)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ganmodels.privacy import closest, copy_rate, membership_auc


@pytest.fixture(scope="module")
def splits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digits (8x8 pixels) in three disjoint shuffled parts: train, holdout, and the rows of a
    'generator' that never saw train (real digits, drawn apart from both)."""
    x = load_digits().data[np.random.default_rng(0).permutation(1797)]
    return x[:600], x[600:1200], x[1200:]


def test_closest_matches_a_hand_computed_case() -> None:
    ref = np.array([[0.0, 0.0], [3.0, 4.0]])
    rows = np.array([[0.0, 1.0], [3.0, 5.0], [6.0, 8.0]])
    np.testing.assert_allclose(closest(rows, ref, chunk=2), [1.0, 1.0, 5.0])


def test_samples_that_never_saw_train_leak_nothing(splits: tuple[np.ndarray, ...]) -> None:
    train, holdout, unseen = splits
    assert abs(membership_auc(train, holdout, unseen, 0) - 0.5) < 0.05
    assert copy_rate(unseen, train, holdout) < 0.12  # about the 5% that holdout rows are


def test_samples_that_copy_train_are_caught(splits: tuple[np.ndarray, ...]) -> None:
    train, holdout, _ = splits
    noise = np.random.default_rng(1).normal(0, 0.2, train.shape)
    copies = train[:400] + noise[:400]  # two thirds of train copied, slightly blurred
    # A copied member lies closer than any non-member; the rest are a coin toss: 2/3 + 1/3 / 2.
    assert membership_auc(train, holdout, copies, 0) == pytest.approx(2 / 3 + 1 / 6, abs=0.03)
    assert copy_rate(copies, train, holdout) > 0.9
    # A third copied, among as many new rows: 1/3 + 2/3 / 2.
    third = np.concatenate([copies[:200], splits[2][:200]])
    assert membership_auc(train, holdout, third, 0) == pytest.approx(1 / 3 + 1 / 3, abs=0.03)

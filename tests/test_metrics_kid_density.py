"""Metric math: KID, density/coverage and class coverage, against brute force and known cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganmodels import metrics
from ganmodels.metrics import (
    class_coverage,
    class_histogram,
    density_coverage,
    kernel_inception_distance,
)


def _kid_brute_force(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / D + 1)^3, written out pair by pair."""
    m, dim = x.shape

    def kern(a: np.ndarray, b: np.ndarray) -> float:
        return (float(np.dot(a, b)) / dim + 1.0) ** 3

    xx = sum(kern(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(kern(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(kern(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2.0 * xy / (m * m)


def test_kid_matches_brute_force_on_one_full_subset() -> None:
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((40, 6)) * 1.2 + 0.3
    mean, std = kernel_inception_distance(x, y, num_subsets=1, subset_size=40)
    assert mean == pytest.approx(_kid_brute_force(x, y), abs=1e-10)
    assert std == 0.0
    # A subset as large as the set is a permutation of it, and the estimate ignores order.
    assert kernel_inception_distance(x, y, num_subsets=1, subset_size=1000)[0] == (
        pytest.approx(mean, abs=1e-12)
    )


def test_kid_subsets_are_drawn_real_then_fake_with_default_rng() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((50, 5)), rng.standard_normal((45, 5)) + 0.5
    draw = np.random.default_rng(7)
    ix, iy = draw.choice(50, 30, replace=False), draw.choice(45, 30, replace=False)
    got = kernel_inception_distance(x, y, num_subsets=1, subset_size=30, seed=7)[0]
    assert got == pytest.approx(_kid_brute_force(x[ix], y[iy]), abs=1e-10)


def test_kid_same_distribution_near_zero_shifted_large() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((500, 16)), rng.standard_normal((500, 16))
    shifted = rng.standard_normal((500, 16)) + 1.0
    same_mean, same_std = kernel_inception_distance(a, b, subset_size=200)
    far_mean, far_std = kernel_inception_distance(a, shifted, subset_size=200)
    assert abs(same_mean) < 0.01 * far_mean
    assert abs(same_mean) < 2 * same_std  # zero within the spread over subsets
    # Symmetric in expectation: swapping the sets changes the subsets drawn, not the mean.
    for other, mean, std in [(b, same_mean, same_std), (shifted, far_mean, far_std)]:
        assert abs(kernel_inception_distance(other, a, subset_size=200)[0] - mean) < 0.25 * std
    # With the whole sets as the one subset the estimate is exactly symmetric.
    whole = kernel_inception_distance(a, shifted, num_subsets=1, subset_size=500)[0]
    assert kernel_inception_distance(shifted, a, num_subsets=1, subset_size=500)[0] == (
        pytest.approx(whole, rel=1e-12)
    )


def test_kid_is_deterministic_per_seed_and_accepts_torch() -> None:
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((120, 8)), rng.standard_normal((100, 8)) + 0.2
    first = kernel_inception_distance(x, y, num_subsets=10, subset_size=50, seed=3)
    assert kernel_inception_distance(x, y, num_subsets=10, subset_size=50, seed=3) == first
    assert kernel_inception_distance(x, y, num_subsets=10, subset_size=50, seed=4) != first
    got = kernel_inception_distance(
        torch.from_numpy(x), torch.from_numpy(y), num_subsets=10, subset_size=50, seed=3
    )
    assert got == pytest.approx(first, rel=1e-12)


def test_kid_rejects_bad_inputs() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="same feature dimension"):
        kernel_inception_distance(x, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        kernel_inception_distance(x[:1], x)
    with pytest.raises(ValueError, match="num_subsets"):
        kernel_inception_distance(x, x, num_subsets=0)
    with pytest.raises(ValueError, match="subset_size"):
        kernel_inception_distance(x, x, subset_size=1)


def _density_coverage_brute_force(
    real: np.ndarray, fake: np.ndarray, k: int
) -> tuple[float, float]:
    """prdc's formulas on full numpy distance matrices (strict `<` against the real radii)."""
    d_rr = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    radii = np.sort(d_rr, axis=1)[:, k]  # column 0 is the row itself, at distance 0
    in_ball = np.sqrt(((real[:, None] - fake[None]) ** 2).sum(-1)) < radii[:, None]
    return int(in_ball.sum()) / (k * len(fake)), int(in_ball.any(axis=1).sum()) / len(real)


def test_density_coverage_match_brute_force() -> None:
    rng = np.random.default_rng(20)
    real, fake = rng.standard_normal((150, 5)), rng.standard_normal((120, 5)) * 1.2 + 0.2
    expected = _density_coverage_brute_force(real, fake, k=5)
    assert density_coverage(real, fake, k=5) == expected
    assert density_coverage(torch.from_numpy(real), torch.from_numpy(fake), k=5) == expected
    assert 0.0 < expected[0] < 1.0 and 0.0 < expected[1] < 1.0
    assert density_coverage(real, fake, k=2) == _density_coverage_brute_force(real, fake, k=2)


def test_density_coverage_identical_sets() -> None:
    # Each real ball holds its own centre and the k - 1 nearer neighbours; the k-th neighbour lies
    # on the boundary and prdc's strict `<` leaves it out: k fakes per ball, density k*N/(k*N).
    x = np.random.default_rng(21).standard_normal((300, 8))
    assert density_coverage(x, x, k=5) == (1.0, 1.0)
    assert density_coverage(x, x[::-1].copy(), k=3) == (1.0, 1.0)


def test_density_coverage_far_apart_sets_are_zero() -> None:
    rng = np.random.default_rng(22)
    real, fake = rng.standard_normal((200, 8)), rng.standard_normal((250, 8)) + 100.0
    assert density_coverage(real, fake, k=5) == (0.0, 0.0)


def test_density_coverage_fakes_collapsed_on_one_real_point() -> None:
    k = 5
    real = np.random.default_rng(23).standard_normal((200, 4))
    d_rr = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    radii = np.sort(d_rr, axis=1)[:, k]
    # A point that is nobody's k-th neighbour: no ball has it on its boundary, where rounding
    # would decide membership.
    p = next(i for i in range(len(real)) if np.abs(d_rr[:, i] - radii).min() > 1e-9)
    balls = int((d_rr[:, p] < radii).sum())  # real balls containing the point (its own included)
    density, coverage = density_coverage(real, np.repeat(real[p : p + 1], 300, axis=0), k=k)
    assert coverage == balls / len(real)
    assert coverage <= 0.1
    # Every fake sits in the same `balls` balls: density = 300 * balls / (k * 300).
    assert density == balls / k


def test_density_coverage_rejects_bad_inputs() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="k must be"):
        density_coverage(x, x, k=0)
    with pytest.raises(ValueError, match="at least 6 rows"):
        density_coverage(x, x[:5], k=5)
    with pytest.raises(ValueError, match="same feature dimension"):
        density_coverage(x, np.zeros((10, 3)))


def test_kid_and_density_blocking_do_not_change_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(24)
    real, fake = rng.standard_normal((120, 4)), rng.standard_normal((110, 4)) * 1.3 + 0.3
    kid = kernel_inception_distance(real, fake, num_subsets=5, subset_size=100)
    dc = density_coverage(real, fake, k=5)
    monkeypatch.setattr(metrics, "_MAX_BLOCK_ENTRIES", 7 * 120)  # blocks of a few rows
    assert kernel_inception_distance(real, fake, num_subsets=5, subset_size=100) == (
        pytest.approx(kid, rel=1e-12)
    )
    assert density_coverage(real, fake, k=5) == dc
    assert density_coverage(real, real, k=5) == (1.0, 1.0)
    assert 0.0 < dc[0] < 1.0 and 0.0 < dc[1] < 1.0


def test_class_coverage_counts_at_threshold() -> None:
    # 100 predictions: class 0 gets 91, class 1 exactly 5 (= threshold), class 2 gets 4.
    labels = np.array([0] * 91 + [1] * 5 + [2] * 4)
    assert class_coverage(labels, num_classes=10, threshold=0.05) == 2
    assert class_coverage(labels, num_classes=10, threshold=0.04) == 3
    assert class_coverage(labels, num_classes=10, threshold=0.06) == 1


def test_class_coverage_from_probs_uses_argmax() -> None:
    probs = torch.nn.functional.one_hot(torch.arange(100) % 4, 10).float() * 0.9 + 0.01
    assert class_coverage(probs, num_classes=10) == 4
    assert class_coverage(torch.arange(100) % 10, num_classes=10, threshold=0.1) == 10


def test_class_histogram_shares() -> None:
    hist = class_histogram(np.array([0, 0, 1, 3]), num_classes=4)
    assert hist == [0.5, 0.25, 0.0, 0.25]
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        class_histogram(np.array([0, 4]), num_classes=4)
    with pytest.raises(ValueError, match="columns"):
        class_coverage(np.zeros((5, 3)), num_classes=4)

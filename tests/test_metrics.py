"""Metric math: Frechet distance, KID, k-NN precision/recall, density/coverage, class coverage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganmodels import metrics
from ganmodels.metrics import (
    class_coverage,
    class_histogram,
    density_coverage,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    knn_precision_recall,
)


def _samples_with_exact_stats(mu: np.ndarray, cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n rows whose sample mean and (unbiased) covariance equal mu and cov exactly."""
    z = np.random.default_rng(seed).standard_normal((n, len(mu)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whiten
    return z @ np.linalg.cholesky(cov).T + mu


def _random_spd(dim: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((dim, dim))
    return a @ a.T + 0.1 * np.eye(dim)


def test_fd_of_a_set_with_itself_is_zero() -> None:
    x = np.random.default_rng(0).standard_normal((500, 16))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_diagonal_gaussians_match_closed_form() -> None:
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    got = frechet_distance_from_stats(mu_a, np.diag(var_a), mu_b, np.diag(var_b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_fd_non_commuting_covariances_match_2d_closed_form() -> None:
    # For 2x2 PSD M: tr(sqrt(M)) = sqrt(tr(M) + 2 sqrt(det(M))), with M = sqrt(A) B sqrt(A),
    # so tr(sqrt(M))^2 = tr(AB) + 2 sqrt(det(A) det(B)): an answer independent of eigh.
    cov_a = np.array([[2.0, 0.8], [0.8, 1.0]])
    cov_b = np.array([[1.0, -0.5], [-0.5, 3.0]])
    mu_a, mu_b = np.array([0.5, -1.0]), np.array([2.0, 0.0])
    tr_sqrt = np.sqrt(np.trace(cov_a @ cov_b) + 2 * np.sqrt(np.linalg.det(cov_a @ cov_b)))
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt
    a = _samples_with_exact_stats(mu_a, cov_a, 400, seed=1)
    b = _samples_with_exact_stats(mu_b, cov_b, 300, seed=2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_fd_is_symmetric_and_accepts_torch() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 8)) @ _random_spd(8, 4)
    b = rng.standard_normal((300, 8)) + 0.5
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    assert ab > 0
    assert ab == pytest.approx(ba, rel=1e-9)
    assert frechet_distance(torch.from_numpy(a).float(), torch.from_numpy(b).float()) == (
        pytest.approx(ab, rel=1e-4)
    )


def test_fd_singular_covariance_is_finite_and_non_negative() -> None:
    # Fewer rows than dimensions: rank-deficient covariances (common with ReLU features).
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((10, 64)), rng.standard_normal((12, 64))
    fd = frechet_distance(a, b)
    assert np.isfinite(fd) and fd >= 0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros(10), np.zeros((10, 2)), "2-D"),
        (np.zeros((10, 3)), np.zeros((10, 2)), "same feature dimension"),
        (np.zeros((1, 2)), np.zeros((10, 2)), "at least 2 rows"),
        (np.full((3, 2), np.nan), np.zeros((10, 2)), "NaN"),
    ],
)
def test_fd_rejects_bad_inputs(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def _ring_modes(num_modes: int) -> np.ndarray:
    """Mode centres evenly spaced on a circle of radius 10 in 2-D (far apart for sigma 0.5)."""
    angles = np.linspace(0.0, 2 * np.pi, num_modes, endpoint=False)
    return 10.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _clusters(centers: np.ndarray, per_center: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([c + 0.5 * rng.standard_normal((per_center, len(c))) for c in centers])


def test_precision_recall_identical_sets_are_one() -> None:
    x = np.random.default_rng(0).standard_normal((300, 8))
    assert knn_precision_recall(x, x, k=3) == (1.0, 1.0)


def test_precision_recall_far_apart_sets_are_zero() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((200, 8)), rng.standard_normal((250, 8)) + 100.0
    assert knn_precision_recall(real, fake, k=3) == (0.0, 0.0)


def test_mode_dropped_fakes_keep_precision_but_lose_recall() -> None:
    centers = _ring_modes(10)
    real = _clusters(centers, 200, seed=2)
    precision, recall = knn_precision_recall(real, _clusters(centers[:2], 500, seed=3), k=3)
    assert precision > 0.9
    assert recall < 0.3  # 2 of 10 modes: about 0.2
    # Control: fakes covering every mode score high on both.
    precision, recall = knn_precision_recall(real, _clusters(centers, 200, seed=4), k=3)
    assert precision > 0.9 and recall > 0.9


def test_precision_recall_chunking_does_not_change_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((120, 4)), rng.standard_normal((90, 4)) * 1.3 + 0.3
    whole = knn_precision_recall(real, fake, k=5)
    monkeypatch.setattr(metrics, "_MAX_BLOCK_ENTRIES", 7 * 120)  # blocks of a few rows
    assert knn_precision_recall(real, fake, k=5) == whole
    assert 0.0 < whole[0] < 1.0 and 0.0 < whole[1] < 1.0


def test_precision_recall_duplicates_count_as_neighbours() -> None:
    # Every real point appears twice: self is excluded by index, not by distance, so with k=1
    # each ball's radius is the distance to the twin (zero) and a slightly moved copy is outside.
    base = np.random.default_rng(6).standard_normal((50, 3))
    real = np.concatenate([base, base])
    assert knn_precision_recall(real, base + 1e-2, k=1)[0] == 0.0
    assert knn_precision_recall(real, base + 1e-2, k=2)[0] == 1.0


def test_precision_recall_rejects_bad_inputs() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="k must be"):
        knn_precision_recall(x, x, k=0)
    with pytest.raises(ValueError, match="at least 4 rows"):
        knn_precision_recall(x[:3], x, k=3)
    with pytest.raises(ValueError, match="same feature dimension"):
        knn_precision_recall(x, np.zeros((10, 3)))


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

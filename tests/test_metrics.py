"""Metric math: Frechet distance and k-NN precision/recall (KID, density/coverage and class
coverage: tests/test_metrics_kid_density.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganmodels import metrics
from ganmodels.metrics import (
    frechet_distance,
    frechet_distance_from_stats,
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

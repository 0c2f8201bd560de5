"""Sample-quality metric math on feature/label arrays: Frechet distance, kernel inception distance
(KID), k-NN precision/recall, density/coverage, class coverage, pooled pixel rows. Pure functions,
no I/O; accept numpy arrays or torch tensors. Pairwise distances and kernels are computed in
bounded-size blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# Pairwise-distance blocks are capped at this many entries (float64: 8 bytes each, so ~128 MiB),
# which keeps 10k x 10k (or larger) comparisons within a small, fixed memory budget.
_MAX_BLOCK_ENTRIES = 1 << 24


def _as_2d_float64(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [N, D], got shape {tuple(arr.shape)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_pair(a: np.ndarray, b: np.ndarray, names: tuple[str, str], min_rows: int) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension, "
            f"got {a.shape[1]} and {b.shape[1]}"
        )
    for arr, name in zip((a, b), names, strict=True):
        if arr.shape[0] < min_rows:
            raise ValueError(f"{name} needs at least {min_rows} rows, got {arr.shape[0]}")


def _sqrtm_psd(mat: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative eigenvalues clamped)."""
    vals, vecs = np.linalg.eigh((mat + mat.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def gaussian_stats(feats: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] of features [N, D], in float64."""
    arr = _as_2d_float64(feats, "feats")
    if arr.shape[0] < 2:
        raise ValueError(f"feats needs at least 2 rows, got {arr.shape[0]}")
    return arr.mean(axis=0), np.cov(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])


def frechet_distance_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    dim = mu_a.shape[0] if mu_a.ndim == 1 else -1
    if mu_a.shape != mu_b.shape or cov_a.shape != (dim, dim) or cov_b.shape != (dim, dim):
        raise ValueError(
            f"mismatched Gaussian stats: mu {mu_a.shape} vs {mu_b.shape}, "
            f"cov {cov_a.shape} vs {cov_b.shape}"
        )
    # tr(sqrtm(A B)) == tr(sqrtm(sA B sA)) with sA = sqrtm(A); the latter is symmetric PSD, so its
    # eigenvalues are real and the trace is stable even when A or B is singular (unlike sqrtm(A B)).
    sqrt_a = _sqrtm_psd(cov_a)
    inner = sqrt_a @ cov_b @ sqrt_a
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0.0, None)).sum()
    diff = mu_a - mu_b
    fd = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_covmean
    # Rounding can push a true zero slightly negative; a distance is never below zero.
    return float(max(fd, 0.0))


def frechet_distance(feats_a: Any, feats_b: Any) -> float:
    """Frechet distance between Gaussians fitted to two feature sets [N, D] and [M, D]."""
    a = _as_2d_float64(feats_a, "feats_a")
    b = _as_2d_float64(feats_b, "feats_b")
    _check_pair(a, b, ("feats_a", "feats_b"), min_rows=2)
    return frechet_distance_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def _rows_per_block(n_cols: int) -> int:
    return max(1, _MAX_BLOCK_ENTRIES // max(n_cols, 1))


def _knn_radii(feats: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (itself excluded)."""
    n = feats.shape[0]
    radii = torch.empty(n, dtype=feats.dtype)
    step = _rows_per_block(n)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = torch.cdist(feats[start:stop], feats)
        # Mask self by index rather than relying on a zero distance: duplicates stay neighbours.
        rows = torch.arange(stop - start)
        d[rows, rows + start] = float("inf")
        # topk is several times faster than kthvalue for small k on wide rows.
        radii[start:stop] = d.topk(k, dim=1, largest=False).values[:, -1]
    return radii


def _knn_inputs(real_feats: Any, fake_feats: Any, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated float64 tensors for the k-NN metrics."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    real = _as_2d_float64(real_feats, "real_feats")
    fake = _as_2d_float64(fake_feats, "fake_feats")
    # Each set needs k neighbours besides the point itself to define its manifold.
    _check_pair(real, fake, ("real_feats", "fake_feats"), min_rows=k + 1)
    return torch.from_numpy(real), torch.from_numpy(fake)


def knn_precision_recall(real_feats: Any, fake_feats: Any, k: int = 3) -> tuple[float, float]:
    """Improved precision/recall (Kynkaanniemi et al. 2019) with k-NN balls in feature space."""
    real_t, fake_t = _knn_inputs(real_feats, fake_feats, k)
    real_radii, fake_radii = _knn_radii(real_t, k), _knn_radii(fake_t, k)
    # One pass over fake-vs-real distance blocks serves both directions: a fake row is precise
    # if it lies in some real ball; a real column is recalled if it lies in some fake ball.
    fake_inside = 0
    real_inside = torch.zeros(real_t.shape[0], dtype=torch.bool)
    step = _rows_per_block(real_t.shape[0])
    for start in range(0, fake_t.shape[0], step):
        d = torch.cdist(fake_t[start : start + step], real_t)
        fake_inside += int((d <= real_radii.unsqueeze(0)).any(dim=1).sum())
        real_inside |= (d <= fake_radii[start : start + step].unsqueeze(1)).any(dim=0)
    return fake_inside / fake_t.shape[0], int(real_inside.sum()) / real_t.shape[0]


def _poly_kernel_sum(a: np.ndarray, b: np.ndarray, skip_diagonal: bool) -> float:
    """Sum of k(a_i, b_j) = (a_i . b_j / D + 1)^3 over all pairs, i == j left out if asked."""
    gamma = 1.0 / a.shape[1]
    total = 0.0
    step = _rows_per_block(b.shape[0])
    for start in range(0, a.shape[0], step):
        block = (a[start : start + step] @ b.T * gamma + 1.0) ** 3
        if skip_diagonal:
            rows = np.arange(block.shape[0])
            block[rows, rows + start] = 0.0
        total += float(block.sum())
    return total


def kernel_inception_distance(
    real_feats: Any, fake_feats: Any, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): mean and std of unbiased cubic-kernel MMD^2 over subsets."""
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}")
    if subset_size < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    real = _as_2d_float64(real_feats, "real_feats")
    fake = _as_2d_float64(fake_feats, "fake_feats")
    _check_pair(real, fake, ("real_feats", "fake_feats"), min_rows=2)
    # As the official TF code: subsets shrink to the smaller set (torch-fidelity raises instead).
    m = min(subset_size, real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        # torch-fidelity's mmd2(mmd_est="unbiased"): the within-set sums drop the i == j terms
        # and are averaged over m (m - 1) pairs; the cross sum keeps all m^2 pairs.
        within = _poly_kernel_sum(x, x, skip_diagonal=True) + _poly_kernel_sum(y, y, True)
        mmds[i] = within / (m * (m - 1)) - 2.0 * _poly_kernel_sum(x, y, False) / (m * m)
    # Population std (ddof=0), as torch-fidelity's np.std.
    return float(mmds.mean()), float(mmds.std())


def density_coverage(real_feats: Any, fake_feats: Any, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) with k-NN balls around the real features."""
    real_t, fake_t = _knn_inputs(real_feats, fake_feats, k)
    # prdc's radius is the (k+1)-th smallest distance with self (0) included: the k-th other row.
    radii = _knn_radii(real_t, k)
    inside, covered = 0, 0
    # Blocks are real rows against all fakes: for equally large sets these are the shapes that
    # _knn_radii used, so a fake equal to a real row reproduces that row's distances bit for bit.
    step = _rows_per_block(fake_t.shape[0])
    for start in range(0, real_t.shape[0], step):
        d = torch.cdist(real_t[start : start + step], fake_t)
        # Strict `<` exactly as prdc's compute_density/compute_coverage (knn_precision_recall
        # uses `<=`): a fake exactly on a ball's boundary, e.g. the k-th neighbour, is outside.
        in_ball = d < radii[start : start + step].unsqueeze(1)
        inside += int(in_ball.sum())
        covered += int(in_ball.any(dim=1).sum())  # == (min_j d_ij < r_i), prdc's coverage
    return inside / (k * fake_t.shape[0]), covered / real_t.shape[0]


def _to_labels(probs_or_labels: Any, num_classes: int) -> np.ndarray:
    if isinstance(probs_or_labels, torch.Tensor):
        probs_or_labels = probs_or_labels.detach().cpu().numpy()
    arr = np.asarray(probs_or_labels)
    if arr.ndim == 2:
        if arr.shape[1] != num_classes:
            raise ValueError(f"probs have {arr.shape[1]} columns, expected {num_classes}")
        return arr.argmax(axis=1)
    if arr.ndim != 1:
        raise ValueError(f"expected labels [N] or probs [N, C], got shape {tuple(arr.shape)}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def class_histogram(pred_labels: Any, num_classes: int) -> list[float]:
    """Share of predictions per class (labels [N] or probs/logits [N, C], argmax)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    labels = _to_labels(pred_labels, num_classes)
    if labels.size == 0:
        raise ValueError("class_histogram needs at least one prediction")
    counts = np.bincount(labels, minlength=num_classes)
    return (counts / labels.size).tolist()


def class_coverage(probs_or_labels: Any, num_classes: int, threshold: float = 0.05) -> int:
    """Number of classes receiving at least `threshold` share of the (argmax) predicted labels."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    shares = class_histogram(probs_or_labels, num_classes)
    # Tolerate float rounding so that exactly `threshold` share (e.g. 5 of 100) counts.
    return sum(share >= threshold - 1e-12 for share in shares)


def pixels(x: torch.Tensor) -> torch.Tensor:
    """Images [N, C, H, W] as rows of pixels (float64, CPU), average-pooled by side // 16
    (16x16 for sides that are multiples of 16): the space of the image probe and of
    evaluate's copy and membership checks."""
    side = x.shape[-1]
    if side > 16:
        x = torch.nn.functional.avg_pool2d(x.float(), side // 16)
    return x.flatten(1).double().cpu()

"""Privacy math on feature rows [N, D]: distances to the closest record, the share of samples
that sit on a training row, and a distance-based membership-inference attack."""

from __future__ import annotations

import numpy as np
import torch


def closest(rows: np.ndarray, ref: np.ndarray, chunk: int = 0) -> np.ndarray:
    """Each row's Euclidean distance to its nearest row of ref, in blocks of `chunk` rows
    (default: about 16M distances, 128 MiB, a block: N x M is never held)."""
    chunk = chunk or max(1, 2**24 // max(len(ref), 1))
    r = torch.from_numpy(np.ascontiguousarray(ref, np.float64))
    x = torch.from_numpy(np.ascontiguousarray(rows, np.float64))
    parts = [torch.cdist(x[i : i + chunk], r).min(dim=1).values for i in range(0, len(x), chunk)]
    return torch.cat(parts).numpy() if parts else np.zeros(0)


def copy_rate(synthetic: np.ndarray, train: np.ndarray, holdout: np.ndarray) -> float:
    """Share of synthetic rows at most as far from their nearest train row as the closest 5%
    of holdout rows are from theirs: about 0.05 for a generator of new rows, toward 1 for one
    that copies (at most, not closer: where holdout rows repeat train rows the threshold is 0,
    and a copy must still count)."""
    threshold = np.quantile(closest(holdout, train), 0.05)
    return float((closest(synthetic, train) <= threshold).mean())


def membership_auc(
    members: np.ndarray, non_members: np.ndarray, synthetic: np.ndarray, seed: int = 0
) -> float:
    """ROC AUC of an attacker who calls a record a training member the closer it lies to a
    synthetic sample (as many members as non-members, drawn with seed): 0.5 means the samples
    tell nothing of who was trained on; 1 means every member lies closer than every other."""
    from sklearn.metrics import roc_auc_score

    n = min(len(members), len(non_members))
    rng = np.random.default_rng(seed)
    chosen = [s[rng.choice(len(s), n, replace=False)] for s in (members, non_members)]
    distance = np.concatenate([closest(s, synthetic) for s in chosen])
    return float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], -distance))

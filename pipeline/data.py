"""The prepared data folder's contract for every kind: schema.json (written last), the
train/validation/holdout split and the format version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import storage
from pipeline.errors import DataError

# validation: rows carved from train that G never trains on; evaluate's choices are made there.
SPLITS = ("train", "validation", "holdout")
FORMAT_VERSION = 2  # 2: the validation split
REAL = ("train", "validation")  # every real row but the holdout (what gan augment starts from)


class PreparedDataError(ValueError):
    """The prepared data folder is missing, incomplete or inconsistent with schema.json."""


def read_schema(prepared_dir: Path | str) -> dict[str, Any]:
    """Load prepared_dir/schema.json (written last by prepare, so it implies complete shards).

    prepared_dir may also be a URI (a dataset staged on shared storage).
    """
    path = storage.join(str(prepared_dir), "schema.json")
    if not storage.is_file(path):
        raise PreparedDataError(f"{path}: not found; run the prepare stage (dvc repro prepare)")
    schema = json.loads(storage.read_bytes(path))
    if schema.get("format_version") != FORMAT_VERSION:
        raise PreparedDataError(
            f"{path}: format_version {schema.get('format_version')!r}, this reader expects "
            f"{FORMAT_VERSION}; rerun the prepare stage"
        )
    return schema


def split_indices(
    labels: np.ndarray | None, n: int, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (stratified when labeled) train/holdout row indices, each in shuffled order."""
    if n < 2:
        raise DataError(f"need at least 2 rows (images) to make a train/holdout split, got {n}")
    n_hold = min(max(round(n * fraction), 1), n - 1)
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        return order[n_hold:], order[:n_hold]
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder allocation in integers: per-class quotas that sum exactly to n_hold.
    quota, remainder = np.divmod(counts.astype(np.int64) * n_hold, n)
    by_remainder = np.argsort(-remainder, kind="stable")
    quota[by_remainder[: n_hold - int(quota.sum())]] += 1
    train, hold = [], []
    for cls, q in zip(classes, quota, strict=True):
        members = rng.permutation(np.flatnonzero(labels == cls))
        hold.append(members[:q])
        train.append(members[q:])
    # Shuffle within each split so a prefix of a split (e.g. the first k rows) is class-balanced.
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(hold))


def three_splits(
    labels: np.ndarray | None, n: int, holdout: float, validation: float, seed: int
) -> dict[str, np.ndarray]:
    """train/validation/holdout row indices: the holdout as split_indices draws it (the same
    rows whatever `validation` is), then the validation share of the rest, drawn the same way
    (none where that share rounds to no row)."""
    train, hold = split_indices(labels, n, holdout, seed)
    val = train[:0]
    if round(len(train) * validation) >= 1 and len(train) >= 2:
        rest = None if labels is None else labels[train]
        keep, carved = split_indices(rest, len(train), validation, seed + 1)
        train, val = train[keep], train[carved]
    return {"train": train, "validation": val, "holdout": hold}

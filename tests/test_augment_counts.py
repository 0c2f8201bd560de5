"""gan augment's class counts against hand-computed cases (the writing is tested where each
kind's model is trained: tests/test_tabular_train.py, test_sequence_train.py, e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import kinds
from pipeline.augment import augment, class_seed, manifest_path, synthetic_counts


def test_train_balance_keeps_the_shares_and_equal_fills_the_smallest_first() -> None:
    assert synthetic_counts([60, 30, 10], 50, "train") == [30, 15, 5]
    assert synthetic_counts([2, 1], 2, "train") == [1, 1]  # largest remainders: 1.33, 0.67
    # 20 rows lift the smallest class to 30, the other 30 go to the two smallest alike.
    assert synthetic_counts([60, 30, 10], 50, "equal") == [0, 15, 35]
    assert synthetic_counts([5, 5], 0, "equal") == [0, 0]
    with pytest.raises(ValueError, match="--balance must be one of"):
        synthetic_counts([1], 1, "smote")


def test_each_class_samples_apart_and_the_manifest_sits_beside_a_file() -> None:
    assert len({class_seed(0, k) for k in range(10)}) == 10 and class_seed(0, 1) == class_seed(0, 1)
    assert manifest_path(Path("aug")).as_posix() == "aug/manifest.json"
    assert manifest_path(Path("d/x.parquet")).as_posix() == "d/x.parquet.manifest.json"


def test_bad_ratios_and_outputs_are_refused_before_any_sampling() -> None:
    with pytest.raises(ValueError, match=r"--ratio must be >= 0"):
        augment(None, Path("data/prepared"), -0.5, "train", 0, Path("aug"))
    refused = {"image": "aug.npz", "tabular": "aug.npy", "sequence": "aug.parquet"}
    for kind, out in refused.items():
        with pytest.raises(ValueError, match=rf"--out {out}: an? \w+ model writes the augmented"):
            kinds.get(kind).augmenter().check_out(Path(out))

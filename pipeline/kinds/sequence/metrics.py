"""The sequence evaluate's metric names and directions, and their human summaries (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.metric_names import Direction, slug

# Scores of G's sequences against the holdout; each also given for real train sequences (the
# ceiling: real_*) and for train sequences with their steps shuffled among each other (the
# floor: shuffled_*, what a generator with no sense of time gets).
SCORES: dict[str, Direction] = {
    "discriminative_score": "lower",  # |post-hoc GRU accuracy - 0.5| (TimeGAN); 0 is best
    "discriminative_accuracy": None,  # the raw accuracy (below 0.5: copies of train windows)
    "predictive_score": "lower",  # MAE on the holdout of a next-step GRU trained on samples
    "autocorrelation_error": "lower",
    "correlation_error": "lower",
    "length_distance": "lower",  # W1 of the length distributions, over the longest length
}


# Who was trained on: a distance-based membership-inference attack's ROC AUC over train and
# holdout sequences (0.5: no leak), and the share of samples closer to a train sequence than
# 95% of holdout ones are (about 0.05 for new sequences); ganmodels/privacy.py.
PRIVACY: dict[str, Direction] = {"membership_auc": "lower", "copy_rate": "lower"}


def fd_name(source: str) -> str:
    """FD in the sequence encoder's features, named after the data: fd_japanese_vowels."""
    return "fd_" + (slug(Path(source).stem, "_") or "data")


def declared(labeled: bool, source: str) -> dict[str, Direction]:
    """Every top-level scalar evaluate writes (TSTR accuracy only for labelled data)."""
    out: dict[str, Direction] = {**SCORES, "num_samples": None, "holdout_rows": None}
    out |= PRIVACY
    out |= {"fd": "lower", fd_name(source): "lower"}  # the same value: the gate's generic name
    out |= {f"{ref}_{key}": None for ref in ("real", "shuffled") for key in (*SCORES, "fd")}
    if labeled:
        out |= {"tstr_accuracy": "higher", "real_tstr_accuracy": None}
    return out


REVIEW: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("discriminative_score", ("real_discriminative_score", "shuffled_discriminative_score")),
    ("fd", ("real_fd", "shuffled_fd")),
    ("predictive_score", ("real_predictive_score", "shuffled_predictive_score")),
    ("tstr_accuracy", ("real_tstr_accuracy",)),
    ("augmentation.augmented", ("augmentation.real",)),
    ("autocorrelation_error", ("real_autocorrelation_error", "shuffled_autocorrelation_error")),
    ("correlation_error", ("real_correlation_error", "shuffled_correlation_error")),
    ("length_distance", ("real_length_distance", "shuffled_length_distance")),
    ("membership_auc", ()),
    ("copy_rate", ()),
)


def direction(key: str) -> Direction:
    """Which way a version's metric is better."""
    if key in ("tstr_accuracy", "augmentation.augmented", "augmentation.gain"):
        return "higher"
    if key == "fd" or (key.startswith("fd_") and "." not in key):
        return "lower"
    return SCORES.get(key) or PRIVACY.get(key)


def summary_line(m: dict[str, Any]) -> str:
    """One line: each score beside the real sequences' and the shuffled ones'."""
    parts = [
        f"{key} {m[key]:.3f} (real {m[f'real_{key}']:.3f}, shuffled {m[f'shuffled_{key}']:.3f})"
        for key in ("discriminative_score", "predictive_score", "fd")
    ]
    if "tstr_accuracy" in m:
        parts.append(f"tstr_accuracy {m['tstr_accuracy']:.3f} (real {m['real_tstr_accuracy']:.3f})")
    return "evaluate: " + ", ".join(parts)


def headline(m: dict[str, Any]) -> list[str]:
    """`gan summary`'s lines."""
    lines = [summary_line(m).removeprefix("evaluate: ")]
    lines.append(
        f"autocorrelation error {m['autocorrelation_error']:.3f}, correlation error "
        f"{m['correlation_error']:.3f}, length distance {m['length_distance']:.3f}"
    )
    if "membership_auc" in m:  # older versions have none
        lines.append(
            f"membership AUC {m['membership_auc']:.3f} (0.5: no leak), copy rate "
            f"{m['copy_rate']:.3f} (about 0.05: none)"
        )
    return lines

"""The image evaluate's metric names and directions, and their human summaries.

`fd` is the FD in the feature space evaluate.feature_extractor names; copies named for that
space (fd_<source>, or fid for Inception) sit beside it. No torch here (params loading).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.metric_names import Direction, slug

IMAGE: dict[str, Direction] = {
    "fd": "lower",
    "fd_floor": None,  # real train rows vs the holdout: the data's own floor
    "fd_ratio": "lower",
    "num_samples": None,
    "holdout_rows": None,
    "floor_num_samples": None,
    "kid": "lower",
    "kid_std": None,
    "precision": "higher",
    "recall": "higher",
    "density": "higher",
    "coverage": "higher",
    "class_coverage": "higher",
    "num_classes": None,
    # Who was trained on, in pixel space: a distance-based membership-inference attack's ROC
    # AUC over train and holdout images (0.5: no leak), and the share of samples closer to a
    # train image than 95% of holdout images are (about 0.05 for new images).
    "membership_auc": "lower",
    "copy_rate": "lower",
}
CONDITIONAL: dict[str, Direction] = {"label_accuracy": "higher", "label_accuracy_min": "higher"}
FD_FAMILY = ("fd", "fd_floor", "fd_ratio")


# What a review leads with, each beside the values to read it against (A's).
REVIEW: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fd", ("fd_floor",)),
    ("fd_ratio", ()),
    ("precision", ()),
    ("recall", ()),
    ("coverage", ()),
    ("class_coverage", ("num_classes",)),
    ("label_accuracy", ()),
    ("label_accuracy_min", ()),
    ("augmentation.augmented", ("augmentation.real",)),
    ("augmentation.ratio", ()),
    ("membership_auc", ()),
    ("copy_rate", ()),
)


def fd_key(source: str, feature_extractor: str = "classifier") -> str:
    """fid for Inception features; else named after the classifier's domain, e.g. fd_digits."""
    if feature_extractor == "inception":
        return "fid"
    name = "digits" if source == "digits" else Path(source).name
    key = "fd_" + (slug(name, "_") or "data")
    return key + "_data" if key in FD_FAMILY else key  # a folder named floor: not fd_floor


def source_named(fd_name: str) -> dict[str, str]:
    """Each generic FD metric -> its copy named fd_name: fd -> fd_digits (or fid), and so on."""
    return {generic: fd_name + generic.removeprefix("fd") for generic in FD_FAMILY}


def image_written(fd_name: str, conditional: bool) -> dict[str, Direction]:
    """The image evaluate's top-level scalars, its FD also named fd_name (fd_digits or fid)."""
    out = {**IMAGE, **(CONDITIONAL if conditional else {})}
    for generic, named in source_named(fd_name).items():
        out[named] = out[generic]
    return out


_HIGHER = ("precision", "recall", "class_coverage", "density", "coverage", "accuracy", "gain",
           "augmented")  # fmt: skip
_LOWER = ("fid", "kid", "fd", "membership_auc", "copy_rate")


def direction(key: str) -> Direction:
    """Which way a (flattened) metric of a version is better: its last part decides, so
    per_class.3.fd is an FD; source-named FDs and ratios are lower-is-better too."""
    name = key.split(".")[-1]
    if name in _LOWER or name.endswith("_ratio"):
        return "lower"
    if name.startswith("fd_") and not name.endswith("_floor"):
        return "lower"
    if name in _HIGHER or name.startswith("label_accuracy"):
        return "higher"
    return None


def gate_hint(metric: str, source: str, feature_extractor: str) -> str:
    """Why a primary metric is not written, where the reason is a common slip."""
    if metric in CONDITIONAL:
        return f"; {metric} needs model.conditional: true"
    if metric.startswith(("fd_", "fid")):
        return (
            f"; evaluate.feature_extractor {feature_extractor} on data.source {source!r} "
            f"names its FD {fd_key(source, feature_extractor)!r}: set "
            "register.primary_metric: fd (the same FD, whatever the source and feature space)"
        )
    return ""


def summary_line(m: dict[str, Any], fd_name: str, figure: Path) -> str:
    """evaluate's one human line of the headline metrics."""
    line = (
        f"evaluate: fd {m['fd']:.3f} (= {fd_name}; {m['num_samples']} samples vs "
        f"{m['holdout_rows']} holdout rows; real-data floor {m['fd_floor']:.3f}, "
        f"x{m['fd_ratio']:.1f}) | KID {m['kid']:.4f} | precision {m['precision']:.3f} "
        f"recall {m['recall']:.3f} | density {m['density']:.3f} coverage {m['coverage']:.3f} | "
        f"classes covered {m['class_coverage']}/{m['num_classes']}"
    )
    if "label_accuracy" in m:
        line += f" | asked-for label accuracy {m['label_accuracy']:.3f}"
        line += f" (min {m['label_accuracy_min']:.3f})"
    if a := m.get("augmentation"):  # a conditional G's samples offered to a fresh classifier
        line += f" | augmented accuracy {a['augmented']:.3f} (real {a['real']:.3f}, ratio "
        line += f"{a['ratio']:g})"
    line += f" | membership AUC {m['membership_auc']:.3f} (0.5: no leak), copy rate "
    return line + f"{m['copy_rate']:.3f} (about 0.05: none) | grid {figure}"


def headline(ev: dict[str, Any], fd: str) -> list[str]:
    """`gan summary`'s quality lines."""
    return [
        f" Quality   {fd} {ev.get(fd, float('nan')):.3f} "
        f"(real-data floor {ev.get(fd + '_floor', float('nan')):.3f})  "
        f"precision {ev.get('precision', 0):.3f}  recall {ev.get('recall', 0):.3f}  "
        f"classes {ev.get('class_coverage', '?')}/{ev.get('num_classes', '?')}",
        f"           KID {ev.get('kid', float('nan')):.4f}  density {ev.get('density', 0):.3f}  "
        f"coverage {ev.get('coverage', 0):.3f}"
        + (
            f"  asked-for label accuracy {ev['label_accuracy']:.3f}"
            if "label_accuracy" in ev
            else ""
        ),
    ]

"""The metrics each kind's evaluate writes: their names and which way is better.

The one declaration of them: evaluate.py and evaluate_table.py check what they write against it
(a scalar written without a declaration, or declared but not written, fails the stage), and
config.py refuses at load a `register.primary_metric` that the configured evaluate never writes.
Also the default registered model name, derived from the source. No torch or MLflow here:
params loading imports this module.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

Direction = Literal["lower", "higher"] | None  # None: a count or a reference, not a score of G

# Top-level scalars of metrics/eval.json for images. `fd` is the FD in the feature space
# evaluate.feature_extractor names; the source-named copies (fd_<source> or fid) sit beside it.
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
}
CONDITIONAL: dict[str, Direction] = {"label_accuracy": "higher", "label_accuracy_min": "higher"}
TABLE: dict[str, Direction] = {
    "quality_score": "higher",
    "column_shapes": "higher",
    "pair_trends": "higher",
    "detection_auc": "lower",  # 0.5 is ideal: synthetic rows indistinguishable from real ones
    "num_samples": None,
    "holdout_rows": None,
    "real_quality_score": None,  # real train rows scored the same way: the ceiling
    "real_column_shapes": None,
    "real_pair_trends": None,
    "real_detection_auc": None,
}
_FD_FAMILY = ("fd", "fd_floor", "fd_ratio")


def _slug(text: str, sep: str) -> str:
    """Lowercase letters and digits of text, other runs as sep ('' when none are left)."""
    return re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)


def fd_key(source: str, feature_extractor: str = "classifier") -> str:
    """fid for Inception features; else named after the classifier's domain, e.g. fd_digits."""
    if feature_extractor == "inception":
        return "fid"
    name = "digits" if source == "digits" else Path(source).name
    key = "fd_" + (_slug(name, "_") or "data")
    return key + "_data" if key in _FD_FAMILY else key  # a folder named floor: not fd_floor


def source_named(fd_name: str) -> dict[str, str]:
    """Each generic FD metric -> its copy named fd_name: fd -> fd_digits (or fid), and so on."""
    return {generic: fd_name + generic.removeprefix("fd") for generic in _FD_FAMILY}


def older_name(metric: str, kind: str, source: str, feature_extractor: str) -> str | None:
    """The source-named key of the same quantity as metric (fd -> fd_digits), else None: what a
    version registered before the generic names were written carries instead."""
    if kind != "image" or metric not in _FD_FAMILY:
        return None
    return source_named(fd_key(source, feature_extractor))[metric]


def image_written(fd_name: str, conditional: bool) -> dict[str, Direction]:
    """The image evaluate's top-level scalars, its FD also named fd_name (fd_digits or fid)."""
    out = {**IMAGE, **(CONDITIONAL if conditional else {})}
    for generic, named in source_named(fd_name).items():
        out[named] = out[generic]
    return out


def written(
    kind: str, source: str, feature_extractor: str = "classifier", conditional: bool = False
) -> dict[str, Direction]:
    """Every top-level scalar that evaluate writes to metrics/eval.json, with its direction."""
    if kind == "tabular":
        return dict(TABLE)
    return image_written(fd_key(source, feature_extractor), conditional)


def check_gate(
    kind: str,
    source: str,
    feature_extractor: str,
    conditional: bool,
    metric: str,
    higher_is_better: bool,
) -> None:
    """Refuse a register.primary_metric that evaluate will not write as a score, or whose
    register.higher_is_better points the wrong way (ValueError naming the keys)."""
    declared = written(kind, source, feature_extractor, conditional)
    scores = ", ".join(sorted(k for k, v in declared.items() if v is not None))
    if metric not in declared:
        hint = ""
        if kind == "image" and metric in CONDITIONAL:
            hint = f"; {metric} needs model.conditional: true"
        elif kind == "image" and metric.startswith(("fd_", "fid")):
            hint = (
                f"; evaluate.feature_extractor {feature_extractor} on data.source {source!r} "
                f"names its FD {fd_key(source, feature_extractor)!r}: set "
                "register.primary_metric: fd (the same FD, whatever the source and feature space)"
            )
        raise ValueError(
            f"register.primary_metric {metric!r} is not a metric that evaluate writes for "
            f"data.kind {kind} (scores: {scores}){hint}"
        )
    direction = declared[metric]
    if direction is None:
        raise ValueError(
            f"register.primary_metric {metric!r} is a count or a reference value, not a score "
            f"of the generator: gate on one of {scores}"
        )
    if higher_is_better != (direction == "higher"):
        raise ValueError(
            f"register.higher_is_better {str(higher_is_better).lower()} contradicts "
            f"register.primary_metric {metric} ({direction} is better): set "
            f"register.higher_is_better: {str(direction == 'higher').lower()}"
        )


def check_written(metrics: dict[str, Any], declared: dict[str, Direction]) -> dict[str, Any]:
    """metrics, unchanged, once its top-level scalars are exactly the declared ones."""
    scalars = {k for k, v in metrics.items() if not isinstance(v, dict)}
    extra, missing = sorted(scalars - set(declared)), sorted(set(declared) - scalars)
    if extra or missing:
        raise RuntimeError(
            f"evaluate's metrics differ from pipeline/metric_names.py: undeclared {extra}, "
            f"declared but not written {missing}"
        )
    return metrics


def model_name(source: str, kind: str) -> str:
    """The default registered model name: gan-<folder name or file stem>, e.g. gan-digits."""
    path = Path(source)
    stem = path.stem if kind == "tabular" else path.name
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return "gan-" + (_slug(ascii_stem, "-") or "data")

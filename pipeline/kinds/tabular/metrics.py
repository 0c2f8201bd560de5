"""The table evaluate's metric names and directions, and their human summaries (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.metric_names import Direction

TABLE: dict[str, Direction] = {
    "quality_score": "higher",
    "column_shapes": "higher",
    "pair_trends": "higher",
    "detection_auc": "lower",  # 0.5 is ideal: synthetic rows indistinguishable from real ones
    "detection_auc_boosted": "lower",  # the same by a gradient-boosted detector
    "column_detection_max": "lower",  # the boosted detector on the most telling column alone
    # A distance-based membership-inference attack: do train rows lie closer to the samples
    # than holdout rows do? Its ROC AUC (0.5: no leak; ganmodels/privacy.py).
    "membership_auc": "lower",
    "num_samples": None,
    "holdout_rows": None,
    # Real train rows scored the same way (the ceiling), and each column resampled alone from
    # them (the floor: what a trivial generator gets).
    **{
        f"{ref}_{key}": None
        for ref in ("real", "marginals")
        for key in (
            "quality_score",
            "column_shapes",
            "pair_trends",
            "detection_auc",
            "detection_auc_boosted",
        )
    },
}


# What a review leads with, each beside the real rows' value (the ceiling) and the marginals'
# (the floor: each column resampled alone), of version A.
REVIEW: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("quality_score", ("real_quality_score", "marginals_quality_score")),
    ("detection_auc_boosted", ("real_detection_auc_boosted", "marginals_detection_auc_boosted")),
    ("column_detection_max", ()),
    ("detection_auc", ("real_detection_auc", "marginals_detection_auc")),
    ("column_shapes", ("real_column_shapes", "marginals_column_shapes")),
    ("pair_trends", ("real_pair_trends", "marginals_pair_trends")),
    ("ml_efficacy.f1_synthetic", ("ml_efficacy.f1_real", "ml_efficacy.f1_majority")),
    ("augmentation.augmented", ("augmentation.real",)),
    ("augmentation.ratio", ()),
    # An unbalanced label (evaluate.imbalanced_below): ours against the classic oversamplers.
    (
        "imbalance.ours.minority_f1",
        (
            "imbalance.none.minority_f1",
            "imbalance.smote.minority_f1",
            "imbalance.oversampling.minority_f1",
        ),
    ),
    ("imbalance.ours.amount", ()),
    ("dcr.ratio", ()),
    ("membership_auc", ()),
)


_HIGHER = (
    "quality_score",
    "column_shapes",
    "pair_trends",
    "f1_synthetic",
    "gain",
    "augmented",
    "minority_f1",
    "balanced_accuracy",
    "macro_f1",
)
_LOWER = ("detection_auc", "detection_auc_boosted", "column_detection_max", "membership_auc")


def direction(key: str) -> Direction:
    """Which way a (flattened) metric of a version is better: similarity scores rise toward 1
    (every per-column one too), the detection AUC falls toward 0.5 (indistinct)."""
    if key.startswith("per_column.") or key.split(".")[-1] in _HIGHER:
        return "higher"
    return "lower" if key in _LOWER or key.startswith("column_detection.") else None


def _efficacy(m: dict[str, Any]) -> str:
    e = m.get("ml_efficacy")
    if not e:
        return ""
    refs = f"real {e['f1_real']:.3f}, majority {e.get('f1_majority', float('nan')):.3f}"
    if "f1_marginals" in e:
        refs += f", marginals {e['f1_marginals']:.3f}"
    out = f" | ML efficacy F1 {e['f1_synthetic']:.3f} ({refs})"
    if a := m.get("augmentation"):  # older versions have none
        out += f" | augmented F1 {a['augmented']:.3f} (ratio {a['ratio']:g}, gain {a['gain']:+.3f})"
    if i := m.get("imbalance"):  # an unbalanced label only
        (name, _), *_ = i["minority"].items()
        out += (f" | minority ({name}) F1 + ours {i['ours']['minority_f1']:.3f} (share "
                f"{i['ours']['amount']:g}; real rows alone {i['none']['minority_f1']:.3f}, + SMOTE "
                f"{i['smote']['minority_f1']:.3f}, + random oversampling "
                f"{i['oversampling']['minority_f1']:.3f})")  # fmt: skip
    return out


def _most_detectable(m: dict[str, Any]) -> str:
    (name, auc), *_ = (m.get("most_detectable_column") or {"-": float("nan")}).items()
    return f"most detectable column {name} {auc:.3f}"


def summary_line(m: dict[str, Any], figure: Path) -> str:
    """evaluate's one human line of the headline metrics (the boosted detector leads: the
    linear one misses what no line separates)."""
    return (
        f"evaluate: quality {m['quality_score']:.3f} (column shapes {m['column_shapes']:.3f}, "
        f"pair trends {m['pair_trends']:.3f}; real rows {m['real_quality_score']:.3f}, "
        f"marginals {m['marginals_quality_score']:.3f}) | detection AUC boosted "
        f"{m['detection_auc_boosted']:.3f} (real {m['real_detection_auc_boosted']:.3f}, "
        f"marginals {m['marginals_detection_auc_boosted']:.3f}, 0.5 ideal; linear "
        f"{m['detection_auc']:.3f}) | {_most_detectable(m)}{_efficacy(m)} | DCR ratio "
        f"{m['dcr']['ratio']:.2f} | membership AUC {m['membership_auc']:.3f} (0.5: no leak) | "
        f"{m['num_samples']} rows vs {m['holdout_rows']} holdout | "
        f"figure {figure}"
    )


def headline(ev: dict[str, Any]) -> list[str]:
    """`gan summary`'s quality lines."""
    nan = float("nan")
    return [
        f" Quality   quality_score {ev.get('quality_score', nan):.3f} (real rows "
        f"{ev.get('real_quality_score', nan):.3f}, marginals "
        f"{ev.get('marginals_quality_score', nan):.3f})  column shapes "
        f"{ev.get('column_shapes', nan):.3f}  pair trends {ev.get('pair_trends', nan):.3f}",
        f"           detection AUC boosted {ev.get('detection_auc_boosted', nan):.3f} (0.5 ideal;"
        f" linear {ev.get('detection_auc', nan):.3f})  {_most_detectable(ev)}",
        f"          {_efficacy(ev).removeprefix(' |')}  DCR ratio "
        f"{ev.get('dcr', {}).get('ratio', nan):.2f}  membership AUC "
        f"{ev.get('membership_auc', nan):.3f}",
    ]

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
    "num_samples": None,
    "holdout_rows": None,
    "real_quality_score": None,  # real train rows scored the same way: the ceiling
    "real_column_shapes": None,
    "real_pair_trends": None,
    "real_detection_auc": None,
}


_HIGHER = ("quality_score", "column_shapes", "pair_trends", "f1_synthetic")


def direction(key: str) -> Direction:
    """Which way a (flattened) metric of a version is better: similarity scores rise toward 1
    (every per-column one too), the detection AUC falls toward 0.5 (indistinct)."""
    if key.startswith("per_column.") or key.split(".")[-1] in _HIGHER:
        return "higher"
    return "lower" if key == "detection_auc" else None


def summary_line(m: dict[str, Any], figure: Path) -> str:
    """evaluate's one human line of the headline metrics."""
    return (
        f"evaluate: quality {m['quality_score']:.3f} (column shapes {m['column_shapes']:.3f}, "
        f"pair trends {m['pair_trends']:.3f}; real rows {m['real_quality_score']:.3f}) | "
        f"detection AUC {m['detection_auc']:.3f} (real {m['real_detection_auc']:.3f}, 0.5 ideal)"
        + (
            f" | ML efficacy {m['ml_efficacy']['f1_synthetic']:.3f} vs real "
            f"{m['ml_efficacy']['f1_real']:.3f}"
            if "ml_efficacy" in m
            else ""
        )
        + f" | DCR ratio {m['dcr']['ratio']:.2f} | {m['num_samples']} rows vs "
        f"{m['holdout_rows']} holdout | figure {figure}"
    )


def headline(ev: dict[str, Any]) -> list[str]:
    """`gan summary`'s quality lines."""
    efficacy = ev.get("ml_efficacy", {})
    return [
        f" Quality   quality_score {ev.get('quality_score', float('nan')):.3f} (real rows "
        f"{ev.get('real_quality_score', float('nan')):.3f})  column shapes "
        f"{ev.get('column_shapes', 0):.3f}  pair trends {ev.get('pair_trends', 0):.3f}",
        f"           detection AUC {ev.get('detection_auc', float('nan')):.3f} (0.5 ideal)"
        + (
            f"  ML efficacy F1 {efficacy['f1_synthetic']:.3f} vs real {efficacy['f1_real']:.3f}"
            if efficacy
            else ""
        )
        + f"  DCR ratio {ev.get('dcr', {}).get('ratio', float('nan')):.2f}",
    ]

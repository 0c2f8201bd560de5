"""What evaluate writes, checked: each kind declares its metric names and directions (its
`metrics_written`); this module holds the checks every kind shares and the default model name.

evaluate checks what it writes against the declaration (a scalar written without one, or
declared but not written, fails the stage), and params loading refuses a
`register.primary_metric` that the configured evaluate never writes. No torch or MLflow here:
params loading imports this module.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipeline.kinds.base import DataKind

Direction = Literal["lower", "higher"] | None  # None: a count or a reference, not a score of G


def slug(text: str, sep: str) -> str:
    """Lowercase letters and digits of text, other runs as sep ('' when none are left)."""
    return re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)


def check_gate(
    kind: DataKind,
    source: str,
    feature_extractor: str,
    conditional: bool,
    metric: str,
    higher_is_better: bool,
) -> None:
    """Refuse a register.primary_metric that evaluate will not write as a score, or whose
    register.higher_is_better points the wrong way (ValueError naming the keys)."""
    declared = kind.metrics_written(source, feature_extractor, conditional)
    scores = ", ".join(sorted(k for k, v in declared.items() if v is not None))
    if metric not in declared:
        hint = kind.gate_hint(metric, source, feature_extractor)
        raise ValueError(
            f"register.primary_metric {metric!r} is not a metric that evaluate writes for "
            f"data.kind {kind.name} (scores: {scores}){hint}"
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
            f"evaluate's metrics differ from what its kind declares: undeclared {extra}, "
            f"declared but not written {missing}"
        )
    return metrics


def model_name(name: str) -> str:
    """The default registered model name: gan-<the source's name>, e.g. gan-digits."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "gan-" + (slug(ascii_name, "-") or "data")

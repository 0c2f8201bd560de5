"""The promotion gate's rule: whether a challenger's value replaces the champion's (no MLflow)."""

from __future__ import annotations

from pipeline.config import RegisterConfig

CHAMPION, CHALLENGER = "champion", "challenger"


def gate(value: float, champion_value: float | None, cfg: RegisterConfig) -> tuple[bool, str]:
    """Whether a challenger with `value` replaces a champion with `champion_value`, and why."""
    if champion_value is None:
        return True, "no champion yet"
    margin = cfg.min_improvement * abs(champion_value)
    if cfg.higher_is_better:
        better = value > champion_value and value >= champion_value + margin
    else:
        better = value < champion_value and value <= champion_value - margin
    word = "beats" if better else "does not beat"
    return better, (
        f"{cfg.primary_metric} {value:.4g} {word} champion's {champion_value:.4g} "
        f"by the required {cfg.min_improvement:.1%}"
    )

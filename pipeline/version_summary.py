"""The Markdown a registered version carries as its description: what MLflow's own UI shows a
reviewer who never runs `gan review` (promotion metric, gate verdict, headline metrics)."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, int | float) else str(v)


def markdown(
    run_id: str,
    metric: str,
    value: float,
    higher_is_better: bool,
    alias: str,
    reason: str,
    metrics: dict[str, Any],
    headline: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> str:
    """A short summary: the gate's line, a table of the headline metrics (each beside its
    references: real-data floor or ceiling, trivial baseline) and where the samples are."""
    way = "higher" if higher_is_better else "lower"
    lines = [
        f"**Promotion metric** `{metric}` = {value:.4g} ({way} is better)",
        "",
        f"**Gate:** @{alias}: {reason}",
        "",
        "| metric | value | read against |",
        "|---|---|---|",
    ]
    for key, refs in headline:
        if key in metrics:
            against = ", ".join(f"{r} {_fmt(metrics[r])}" for r in refs if r in metrics)
            lines.append(f"| `{key}` | {_fmt(metrics[key])} | {against} |")
    lines += [
        "",
        f"Samples: `runs:/{run_id}/eval/samples.png` · all metrics: the version's `metric.*` "
        "tags · compare: `gan review`",
    ]
    return "\n".join(lines)

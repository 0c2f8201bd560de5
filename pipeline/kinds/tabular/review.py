"""What a table model's review page shows beyond the grids: each column's distribution, real vs
version A vs version B, and both versions' pair-trend gap maps. evaluate writes the inputs
(`column_shares`: bins and levels from the real holdout alone, so two versions' shares of the
same data line up bin by bin)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.encoders import NUMERIC, numbers

BINS = 20
MAX_LEVELS = 12
ARTIFACTS = ("eval/columns.json", "eval/pair_trends.json")
COLOURS = {"real": "#4c72b0", "A": "#55a868", "B": "#dd8452"}


def _shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    kept = values[~np.isnan(values)]
    counts, _ = np.histogram(np.clip(kept, edges[0], edges[-1]), bins=edges)
    return [round(float(c) / max(1, len(values)), 5) for c in counts]


def _labels(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "<null>").astype(str)


def column_shares(
    real: pd.DataFrame, fake: pd.DataFrame, columns: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Per column: bin edges (numeric) or levels (discrete) from the real rows, and the share
    of real and synthetic rows in each (out-of-range values in the outer bins, others in
    'other'); the shares of a numeric column's nulls are kept apart."""
    out: dict[str, Any] = {}
    for col in columns:
        name, kind = col["name"], col["kind"]
        if kind in NUMERIC:
            r, f = numbers(real[name], kind), numbers(fake[name], kind)
            finite = r[~np.isnan(r)]
            lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, BINS + 1)
            out[name] = {
                "kind": "numeric",
                "edges": [round(float(e), 6) for e in edges],
                "real": _shares(r, edges),
                "synthetic": _shares(f, edges),
                "null": [round(float(np.isnan(x).mean()), 5) for x in (r, f)],
            }
        else:
            r, f = _labels(real[name]), _labels(fake[name])
            levels = list(r.value_counts().index[:MAX_LEVELS])
            shares = [
                x.value_counts(normalize=True).reindex(levels, fill_value=0.0) for x in (r, f)
            ]
            out[name] = {
                "kind": "discrete",
                "levels": levels,
                "real": [round(float(v), 5) for v in shares[0]],
                "synthetic": [round(float(v), 5) for v in shares[1]],
            }
    return out


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def columns_figure(a: dict[str, Any], b: dict[str, Any] | None) -> bytes:
    """A panel per column: real (the holdout, from A's evaluation), A and B."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(a)
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.5 * nrows), squeeze=False)
    series = [("real", a, "real"), ("A", a, "synthetic")] + ([("B", b, "synthetic")] if b else [])
    for ax, name in zip(axes.ravel(), names, strict=False):
        col = a[name]
        x = np.arange(len(col["real"]))
        width = 0.8 / len(series)
        for i, (label, src, key) in enumerate(series):
            values = src.get(name, {}).get(key) or [0.0] * len(x)
            ax.bar(x + (i - (len(series) - 1) / 2) * width, values[: len(x)], width,
                   color=COLOURS[label], label=label)  # fmt: skip
        if col["kind"] == "discrete":
            ax.set_xticks(x, [lv[:9] for lv in col["levels"]], rotation=45, ha="right", fontsize=6)
        else:
            e = col["edges"]
            ax.set_xticks([0, len(x) - 1], [f"{e[0]:.4g}", f"{e[-1]:.4g}"], fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[s[0]]) for s in series]
    fig.legend(handles, [s[0] for s in series], loc="upper right", fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.94, 1))
    return _png(fig)


def pair_gaps_figure(a: dict[str, float], b: dict[str, float] | None) -> bytes:
    """Pair-trend gap maps (1 - similarity) of A and B on one colour scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    maps = [("A", a)] + ([("B", b)] if b else [])
    names = sorted({n for _, m in maps for key in m for n in key.split("|", 1)})
    gaps = []
    for _, m in maps:
        gap = np.zeros((len(names), len(names)))
        for key, score in m.items():
            i, j = (names.index(n) for n in key.split("|", 1))
            gap[i, j] = gap[j, i] = 1.0 - score
        gaps.append(gap)
    top = max(0.2, max(float(g.max()) for g in gaps))
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 4.2), squeeze=False)
    for ax, (label, _), gap in zip(axes[0], maps, gaps, strict=True):
        image = ax.imshow(gap, cmap="Reds", vmin=0.0, vmax=top)
        ax.set_xticks(range(len(names)), [n[:10] for n in names], rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), [n[:10] for n in names], fontsize=6)
        ax.set_title(f"{label}: pair trend gap (1 - similarity)", fontsize=9)
    fig.colorbar(image, ax=list(axes[0]), fraction=0.046)
    return _png(fig)


def review_figures(a: dict[str, str], b: dict[str, str] | None) -> list[tuple[str, bytes]]:
    """(title, PNG) of each figure A's artifacts (and B's) allow."""
    figures = []
    cols = "eval/columns.json"
    if cols in a:
        other = json.loads(b[cols]) if b and cols in b else None
        figures.append(("Columns: real vs A vs B", columns_figure(json.loads(a[cols]), other)))
    pairs = "eval/pair_trends.json"
    if pairs in a:
        other = json.loads(b[pairs]) if b and pairs in b else None
        figures.append(("Pair trends", pair_gaps_figure(json.loads(a[pairs]), other)))
    return figures

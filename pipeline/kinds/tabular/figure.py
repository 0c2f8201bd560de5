"""The evaluate stage's figure for tables: each column's real vs synthetic distribution, and a
heatmap of how far each column pair's association is from the real one."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from ganmodels.tabular.transformer import NUMERIC, numbers

REAL, SYNTHETIC = "#4c72b0", "#dd8452"
MAX_LEVELS = 12  # bars per categorical panel (the most frequent real levels)


def _numeric_panel(ax: Any, real: np.ndarray, fake: np.ndarray) -> None:
    both = np.concatenate([real[~np.isnan(real)], fake[~np.isnan(fake)]])
    edges = np.histogram_bin_edges(both, bins=30) if len(both) else 10
    ax.hist(real[~np.isnan(real)], bins=edges, density=True, alpha=0.55, color=REAL)
    ax.hist(fake[~np.isnan(fake)], bins=edges, density=True, alpha=0.55, color=SYNTHETIC)


def _discrete_panel(ax: Any, real: pd.Series, fake: pd.Series) -> None:
    r = real.astype(object).where(real.notna(), "<null>").astype(str).value_counts(normalize=True)
    f = fake.astype(object).where(fake.notna(), "<null>").astype(str).value_counts(normalize=True)
    levels = list(r.index[:MAX_LEVELS])
    x = np.arange(len(levels))
    ax.bar(x - 0.2, r.reindex(levels, fill_value=0), 0.4, color=REAL)
    ax.bar(x + 0.2, f.reindex(levels, fill_value=0), 0.4, color=SYNTHETIC)
    ax.set_xticks(x, [lv[:10] for lv in levels], rotation=45, ha="right", fontsize=7)


def table_figure(
    real: pd.DataFrame,
    fake: pd.DataFrame,
    columns: Sequence[dict[str, Any]],
    per_column: dict[str, float],
    per_pair: dict[str, float],
) -> Image.Image:
    """One PNG: a panel per column (titled with its shape score) and the pair-trend gap map."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a pipeline machine
    import matplotlib.pyplot as plt

    names = [c["name"] for c in columns]
    panels = len(columns) + 1
    ncols = min(4, panels)
    nrows = math.ceil(panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    flat = axes.ravel()
    for ax, col in zip(flat, columns, strict=False):
        name, kind = col["name"], col["kind"]
        if kind in NUMERIC:
            _numeric_panel(ax, numbers(real[name], kind), numbers(fake[name], kind))
        else:
            _discrete_panel(ax, real[name], fake[name])
        ax.set_title(f"{name} ({per_column[name]:.2f})", fontsize=9)
        ax.tick_params(labelsize=7)
    gap = np.zeros((len(names), len(names)))
    for key, score in per_pair.items():
        a, b = key.split("|", 1)
        i, j = names.index(a), names.index(b)
        gap[i, j] = gap[j, i] = 1.0 - score
    ax = flat[len(columns)]
    image = ax.imshow(gap, cmap="Reds", vmin=0.0, vmax=max(0.2, float(gap.max())))
    ax.set_xticks(range(len(names)), [n[:10] for n in names], rotation=90, fontsize=6)
    ax.set_yticks(range(len(names)), [n[:10] for n in names], fontsize=6)
    ax.set_title("pair trend gap (1 - similarity)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    for ax in flat[panels:]:
        ax.axis("off")
    fig.legend(
        handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in (REAL, SYNTHETIC)],
        labels=["real (holdout)", "synthetic"],
        loc="upper right",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")

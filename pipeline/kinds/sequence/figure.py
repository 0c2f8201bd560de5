"""The evaluate stage's figure for sequences: a few real and synthetic sequences per channel,
and a PCA scatter of real vs synthetic sequences (flattened, zero after each end)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

REAL, SYNTHETIC = "#4c72b0", "#dd8452"
CHANNELS = 4  # channel panels drawn (the first ones)
EXAMPLES = 3  # sequences of each per panel


def _flat(x: np.ndarray, low: np.ndarray, span: np.ndarray) -> np.ndarray:
    """Each sequence as one vector: channels scaled by the real ones' range, 0 after its end."""
    return np.nan_to_num((x - low) / span, nan=0.0).reshape(len(x), -1)


def _pca(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets on the real set's first two principal components."""
    flat = real.reshape(-1, real.shape[-1])
    low, high = np.nanmin(flat, 0), np.nanmax(flat, 0)
    span = np.where(high > low, high - low, 1.0)
    r, f = _flat(real, low, span), _flat(fake, low, span)
    mean = r.mean(0)
    _, _, vt = np.linalg.svd(r - mean, full_matrices=False)
    return (r - mean) @ vt[:2].T, (f - mean) @ vt[:2].T


def sequence_figure(
    real: np.ndarray, fake: np.ndarray, channels: list[str], seed: int
) -> Image.Image:
    """One PNG: a panel per channel (EXAMPLES real, EXAMPLES synthetic) and the PCA scatter."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a pipeline machine
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    shown = min(CHANNELS, len(channels))
    fig, axes = plt.subplots(1, shown + 1, figsize=(3.2 * (shown + 1), 2.8), squeeze=False)
    picks = [rng.choice(len(x), size=min(EXAMPLES, len(x)), replace=False) for x in (real, fake)]
    for c, ax in enumerate(axes[0, :shown]):
        for x, rows, color in ((real, picks[0], REAL), (fake, picks[1], SYNTHETIC)):
            for i in rows:
                ax.plot(x[i, :, c], color=color, alpha=0.8, linewidth=1)
        ax.set_title(channels[c], fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    r, f = _pca(real, fake)
    ax = axes[0, shown]
    ax.scatter(r[:, 0], r[:, 1], s=6, alpha=0.5, color=REAL, label="real (holdout)")
    ax.scatter(f[:, 0], f[:, 1], s=6, alpha=0.5, color=SYNTHETIC, label="synthetic")
    ax.set_title("PCA of whole sequences", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")

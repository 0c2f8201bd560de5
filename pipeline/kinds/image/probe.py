"""The score that picks the best image checkpoint: pixel-space FD of G_ema's samples."""

from __future__ import annotations

import torch

from ganmodels.metrics import frechet_distance, pixels
from pipeline.streams import seeded


class PixelFD:
    """A cheap quality score for choosing the best checkpoint: the Frechet distance between
    G_ema's samples and fixed real rows in pixel space (ganmodels.metrics.pixels).

    Fixed latents, labels and reals make scores of different checkpoints comparable; evaluate's
    feature-space metrics stay the real measure.
    """

    def __init__(
        self, data: torch.Tensor, labels: torch.Tensor | None, z_dim: int, seed: int, n: int = 1024
    ) -> None:
        gen = seeded("pixel-fd", seed)
        rows = torch.randperm(len(data), generator=gen)[:n]
        self.labels = None if labels is None else labels[rows]
        self.z = torch.randn(len(rows), z_dim, generator=gen).to(data.device)
        self.real = pixels(data[rows])

    @torch.no_grad()
    def __call__(self, G_ema: torch.nn.Module) -> float:
        """The score of G_ema now (lower is better)."""
        return frechet_distance(self.real, pixels(G_ema(self.z, self.labels)))

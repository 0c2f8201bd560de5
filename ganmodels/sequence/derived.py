"""Derived channels: a channel that is a monotone function of an earlier one on every train step
(a duplicate, a unit conversion, a log) is computed from it by G, never generated.

A GAN generates such a pair as two channels and gets the relation only roughly, which a
post-hoc classifier can use: on Energy (whose rv2 is a copy of rv1) tying the pair in the
samples of an untied G took TimeGAN's discriminative score from 0.375 to 0.329 (validation
split carved from train, mean of 5 post-hoc seeds). The relation is fitted in model space
([-1, 1] after scaling) as a lookup table of knots, two where it is affine; G applies it
after its tanh, so D sees the pair exactly tied.
A spec (a schema's and model config's "derived") is a list of {"channel", "source", "column",
"source_column", "knots_x", "knots_y"}.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ganmodels.tabular.derived import find_derived, fit_knots

MAX_KNOTS = 256  # a curved relation keeps this many quantile-spaced knots (config stays small)


def _knots(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    """The tables' lookup table of y over x (fit_knots), cut to both ends where that reproduces
    every knot (affine), else to MAX_KNOTS quantile-spaced ones."""
    table = fit_knots(x, y, "", "")
    xs, ys = np.asarray(table["knots_x"]), np.asarray(table["knots_y"])
    ends = np.interp(xs, xs[[0, -1]], ys[[0, -1]])
    if np.abs(ends - ys).max() <= 1e-5 * max(np.ptp(ys), 1e-12):
        return xs[[0, -1]].tolist(), ys[[0, -1]].tolist()
    pick = np.unique(np.linspace(0, len(xs) - 1, min(len(xs), MAX_KNOTS)).round().astype(int))
    return xs[pick].tolist(), ys[pick].tolist()


def find_channels(
    model: np.ndarray, candidates: list[int], names: list[str], min_distinct: int
) -> list[dict[str, Any]]:
    """Derived-channel specs of model-space train sequences [N, T, C + 1]: among the candidate
    channels, each that is a monotone function of an earlier one on every step a sequence
    lasts (with at least min_distinct values, so chance cannot pass for a relation)."""
    steps = model[..., -1].reshape(-1) > 0.5
    flat = model[..., :-1].reshape(-1, model.shape[2] - 1)[steps].astype(np.float64)
    found = find_derived({str(c): flat[:, c] for c in candidates}, min_distinct)
    specs = []
    for name, source in found.items():
        c, s = int(name), int(source)
        xs, ys = _knots(flat[:, s], flat[:, c])
        specs.append(
            {"channel": c, "source": s, "column": names[c], "source_column": names[s],
             "knots_x": xs, "knots_y": ys}
        )  # fmt: skip
    return sorted(specs, key=lambda d: d["channel"])


def _interp(x: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear y(x) through the knots, held flat past the ends (as np.interp)."""
    x = x.clamp(xs[0], xs[-1])
    i = torch.searchsorted(xs, x.detach().contiguous()).clamp(1, len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


class DerivedChannels(nn.Module):
    """Sets each derived channel of model-space values [N, T, C] from its source (knots kept
    as buffers rebuilt from the config, so weights files carry none of it)."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.pairs = [(int(d["channel"]), int(d["source"])) for d in specs]
        for k, d in enumerate(specs):
            self.register_buffer(f"x{k}", torch.tensor(d["knots_x"]), persistent=False)
            self.register_buffer(f"y{k}", torch.tensor(d["knots_y"]), persistent=False)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """values with every derived channel replaced by its function of the source."""
        if not self.pairs:
            return values
        out = list(values.unbind(-1))
        for k, (c, s) in enumerate(self.pairs):
            xs, ys = getattr(self, f"x{k}"), getattr(self, f"y{k}")
            out[c] = _interp(out[s], xs.to(values.dtype), ys.to(values.dtype))
        return torch.stack(out, dim=-1)

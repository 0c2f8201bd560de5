"""Per-channel min-max scaling of sequences (fitted on train steps): data units [N, T, C] with
NaN after each end <-> model space [N, T, C + 1] (channels in [-1, 1], then the mask)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scaling:
    """Each channel's train minimum and maximum: data units <-> [-1, 1]."""

    low: np.ndarray  # [C]
    high: np.ndarray  # [C]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaling:
        """From sequences [N, T, C] with NaN after their ends (the train split)."""
        flat = values.reshape(-1, values.shape[-1])
        return cls(np.nanmin(flat, axis=0), np.nanmax(flat, axis=0))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scaling:
        """From to_dict()'s form (a schema's or model config's "scaling")."""
        return cls(np.asarray(d["min"], np.float64), np.asarray(d["max"], np.float64))

    def to_dict(self) -> dict[str, list[float]]:
        """JSON form."""
        return {"min": [float(v) for v in self.low], "max": [float(v) for v in self.high]}

    def _span(self) -> np.ndarray:
        # A constant channel keeps its value: any span maps it to 0 and back.
        return np.where(self.high > self.low, self.high - self.low, 1.0)

    def to_model(self, values: np.ndarray) -> np.ndarray:
        """Data units -> model space [N, T, C + 1] float32: scaled channels, 0 after the end,
        and the mask channel."""
        mask = ~np.isnan(values).any(axis=2)
        scaled = 2.0 * (values - self.low) / self._span() - 1.0
        scaled = np.where(mask[..., None], scaled, 0.0)
        return np.concatenate([scaled, mask[..., None]], axis=2).astype(np.float32)

    def to_data(self, model: np.ndarray) -> np.ndarray:
        """Model space [N, T, C + 1] -> data units [N, T, C] float32, NaN after the end."""
        mask = model[..., -1] > 0.5
        values = (model[..., :-1].astype(np.float64) + 1.0) / 2.0 * self._span() + self.low
        return np.where(mask[..., None], values, np.nan).astype(np.float32)


def lengths(values: np.ndarray) -> np.ndarray:
    """How many steps each sequence [N, T, C] lasts (its steps before the first NaN row)."""
    return (~np.isnan(values).any(axis=2)).sum(axis=1)

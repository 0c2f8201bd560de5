"""Static columns: per-sequence attributes beside the series (a site, a device type, a gain).

They travel as extra channels, constant over each sequence's steps: a numeric column as one
channel, a categorical one as a 0/1 channel per level. G makes them constant by construction
(ganmodels.sequence.nets), so D judges attributes and series together; a sample's levels are
the argmax of their channels. A spec (a schema's and model config's "statics") is a list of
{"column", "kind": "numeric" | "categorical", "channels": [indices][, "levels"]}.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def static_channels(statics: list[dict[str, Any]]) -> list[int]:
    """Every channel index that carries a static column."""
    return [c for spec in statics for c in spec["channels"]]


def series_channels(config: dict[str, Any]) -> list[int]:
    """The channels that are the series itself (not a static column), in source order."""
    taken = set(static_channels(config.get("statics") or []))
    return [c for c in range(len(config["channels"])) if c not in taken]


def _levels(values: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Index of each sequence's level [N]: its largest channel of the column at step 0."""
    return np.nan_to_num(values[:, 0, spec["channels"]], nan=-np.inf).argmax(axis=1)


def snap(values: np.ndarray, statics: list[dict[str, Any]]) -> np.ndarray:
    """Sequences [N, T, C] in data units with each categorical static column's channels made
    one-hot at their largest (NaN after each end kept)."""
    out = values.copy()
    present = ~np.isnan(values).any(axis=2)
    for spec in (s for s in statics if s["kind"] == "categorical"):
        hot = np.eye(len(spec["channels"]))[_levels(values, spec)]  # [N, L]
        out[:, :, spec["channels"]] = np.where(present[..., None], hot[:, None, :], np.nan)
    return out


def decode(values: np.ndarray, statics: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Each static column's value per sequence [N] (from each sequence's first step)."""
    out: dict[str, np.ndarray] = {}
    for spec in statics:
        if spec["kind"] == "numeric":
            out[spec["column"]] = values[:, 0, spec["channels"][0]]
        else:
            out[spec["column"]] = np.asarray(spec["levels"], dtype=object)[_levels(values, spec)]
    return out

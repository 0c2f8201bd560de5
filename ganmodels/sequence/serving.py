"""What a sequence model's pyfunc takes and returns: {n, seed[, label][, format]} -> float32
[n, T, C] in the data's units (NaN after each sequence's end), identical for the same seed;
format "long" gives a DataFrame instead: the sequence id, the step, the source's channels and
static columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ganmodels.sequence.sampling import sampler_from_state
from ganmodels.sequence.statics import decode, series_channels


def _given(frame: pd.DataFrame, column: str) -> Any:
    """The input's value of an optional column (None when absent or null)."""
    if column not in frame.columns or pd.isna(frame[column].iloc[0]):
        return None
    return frame[column].iloc[0]


def to_long(values: np.ndarray, config: dict[str, Any]) -> pd.DataFrame:
    """[n, T, C] -> one row per (sequence, step that exists), named as the source's columns
    (static columns decoded, repeated on each of their sequence's rows)."""
    present = ~np.isnan(values).any(axis=2)
    seq, step = np.nonzero(present)
    frame = pd.DataFrame(
        {config.get("id_column") or "sequence_id": seq, config.get("time_column") or "step": step}
    )
    for c in series_channels(config):
        frame[config["channels"][c]] = values[seq, step, c]
    for name, per_sequence in decode(values, config.get("statics") or []).items():
        frame[name] = per_sequence[seq]
    return frame


class SequenceServing:
    """Samples sequences from an exported EMA generator."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.sampler = sampler_from_state(state)
        self.config = state["model_config"]

    def predict(self, model_input: pd.DataFrame, n: int, seed: int) -> np.ndarray | pd.DataFrame:
        """n sequences for a seed; all of class `label` when asked (a conditional model)."""
        label, form = _given(model_input, "label"), _given(model_input, "format")
        if form not in (None, "array", "long"):
            raise ValueError(f"format must be 'array' or 'long', got {form!r}")
        values = self.sampler.sample(n, seed, None if label is None else int(label))
        # The array is the series; static columns come in the long format.
        return (
            to_long(values, self.config)
            if form == "long"
            else values[..., series_channels(self.config)]
        )

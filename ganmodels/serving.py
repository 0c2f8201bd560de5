"""The pyfunc's kind-independent half: one input row {n, seed, ...} checked, then handed to the
sampler of the exported generator's kind (its model config's "kind")."""

from __future__ import annotations

from typing import Any, Protocol

import pandas as pd

MAX_SAMPLES = 100_000


class Serving(Protocol):
    """A kind's sampler behind the pyfunc."""

    def predict(self, model_input: pd.DataFrame, n: int, seed: int) -> Any:
        """n samples for a seed, as the kind's contract says."""
        ...


def load_serving(state: dict[str, Any]) -> Serving:
    """The sampler for an exported generator ({'model_config' with its 'kind', 'state_dict'})."""
    from ganmodels.image.serving import ImageServing
    from ganmodels.sequence.serving import SequenceServing
    from ganmodels.tabular.serving import TableServing

    kinds: dict[str, type] = {
        "image": ImageServing,
        "tabular": TableServing,
        "sequence": SequenceServing,
    }
    kind = state.get("model_config", {}).get("kind")
    if kind not in kinds:
        raise ValueError(f"generator export of kind {kind!r}; known kinds: {sorted(kinds)}")
    return kinds[kind](state)


def request(model_input: Any) -> tuple[pd.DataFrame, int, int]:
    """The pyfunc input as a one-row DataFrame (or what makes one), with its n and seed."""
    try:
        frame = pd.DataFrame(model_input)
    except (TypeError, ValueError):
        frame = pd.DataFrame()
    if len(frame) != 1:
        raise ValueError("expected a one-row DataFrame with columns 'n' and 'seed'")
    missing = {"n", "seed"} - set(frame.columns)
    if missing:
        raise ValueError(f"input lacks column(s) {sorted(missing)}")
    n, seed = int(frame["n"].iloc[0]), int(frame["seed"].iloc[0])
    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n must be in 1..{MAX_SAMPLES}, got {n}")
    return frame, n, seed

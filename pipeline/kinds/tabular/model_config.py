"""What a prepared table implies for the networks: the model config every checkpoint and export
carries (params.model, the encoded row's spans, the PacGAN pack, the fitted transformer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.kinds.tabular.pack import PAC
from pipeline.kinds.tabular.shards import load_transformer

if TYPE_CHECKING:
    from pipeline.config import Params


def model_config(params: Params, prepared: Path | str) -> dict[str, Any]:
    """The table model config, read from the prepared folder's transformer."""
    transformer = load_transformer(prepared)
    spans = transformer.spans
    return {
        "kind": "tabular",
        **params.model.model_dump(exclude={"preset", "conditional"}),
        "num_classes": 0,
        "spans": [[s.activation, s.width] for s in spans],
        "cond_dim": sum(s.width for s in spans if s.role == "level"),
        "pac": PAC,
        # The decoder travels with the weights: a checkpoint or export samples whole rows.
        "transformer": transformer.to_dict(),
    }

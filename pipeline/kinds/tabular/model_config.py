"""What a prepared table implies for the networks: the model config every checkpoint and export
carries (params.model, the encoded row's spans, the PacGAN pack, the fitted transformer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganmodels.tabular.conditions import ConditionLayout
from pipeline.kinds.tabular.pack import PAC
from pipeline.kinds.tabular.shards import load_transformer

if TYPE_CHECKING:
    from pipeline.config import Params


def model_config(params: Params, prepared: Path | str) -> dict[str, Any]:
    """The table model config, read from the prepared folder's transformer."""
    transformer = load_transformer(prepared)
    spans = transformer.spans
    starts = np.cumsum([0] + [s.width for s in spans])[:-1]
    label = [
        [int(at), s.width]
        for s, at in zip(spans, starts, strict=True)
        if s.column == params.data.label and s.role == "level"
    ]
    aux = label[0] if label and params.model.aux_classifier else None
    return {
        "kind": "tabular",
        **params.model.model_dump(
            exclude={
                "preset",
                "conditional",
                "step_noise",
                "smoothing",
                "polynomial",
                "oscillators",
            }
        ),
        "num_classes": 0,
        "spans": [[s.activation, s.width] for s in spans],
        "cond_dim": ConditionLayout(spans, params.model.condition_modes).cond_dim,
        "pac": PAC,
        "implications": transformer.rule_positions,  # G applies them (implications.py)
        "aux_label": aux,  # where D's auxiliary classifier finds the label (None: no classifier)
        # The decoder travels with the weights: a checkpoint or export samples whole rows.
        "transformer": transformer.to_dict(),
    }

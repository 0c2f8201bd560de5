"""What prepared images imply for the networks: the model config every checkpoint and export
carries (params.model, the images' shape, the class count of a conditional model)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.config import Params


def model_config(params: Params, schema: dict[str, Any]) -> dict[str, Any]:
    """The image model config; refuses a conditional model on unlabeled data."""
    m = params.model
    if m.conditional and not schema.get("labeled"):
        raise PipelineError(
            f"model.conditional: true needs class labels, but data.source "
            f"{schema['source']!r} is unlabeled (labels come from sub-folder names); set "
            "model.conditional: false"
        )
    c, h, _ = schema["shape"]
    return {
        "kind": "image",
        **m.model_dump(
            exclude={
                "preset",
                "conditional",
                "condition_modes",
                "aux_classifier",
                "calibrate",
                "label_raking",
                "step_noise",
                "smoothing",
                "polynomial",
                "oscillators",
            }
        ),
        "num_classes": int(schema["num_classes"]) if m.conditional else 0,
        "channels": c,
        "image_size": h,
    }

"""What prepared sequences imply for the networks: the model config every checkpoint and
export carries (params.model, the sequences' shape and lengths, classes, the scaling)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from pipeline.config import Params

# params.model keys that are the tables' alone.
_TABLE_KEYS = {
    "preset",
    "conditional",
    "condition_modes",
    "aux_classifier",
    "calibrate",
    "label_raking",
}


def model_config(params: Params, schema: dict[str, Any]) -> dict[str, Any]:
    """The sequence model config; refuses a conditional model on unlabeled data."""
    m = params.model
    if m.conditional and not schema.get("labeled"):
        raise PipelineError(
            f"model.conditional: true needs labels, but data.source {schema['source']!r} has "
            "none (set data.label to a per-sequence column); or set model.conditional: false"
        )
    counts = schema["length_counts"]
    # A class without train sequences draws its lengths from all of them.
    by_class = [c if sum(c) else counts["all"] for c in counts["by_class"]]
    return {
        "kind": "sequence",
        **m.model_dump(exclude=_TABLE_KEYS),
        "num_classes": int(schema["num_classes"]) if m.conditional else 0,
        "class_shares": schema["class_shares"] if m.conditional else [],
        "class_names": schema["class_names"],
        "seq_len": int(schema["seq_len"]),
        "features": len(schema["channels"]),
        # Per-step noise of G unless model.step_noise says: rnn 4 (chosen on JapaneseVowels'
        # validation split); tcn one per channel (TimeGAN's width): without it, tcn's upsampled
        # output could not make Energy's white-noise channels (rv1, rv2: step-to-step change
        # 90% too small).
        "step_noise": m.step_noise
        if m.step_noise is not None
        else (len(schema["channels"]) if m.architecture == "tcn" else 4),
        "smoothing": m.smoothing or 0,
        "polynomial": m.polynomial or 0,
        "oscillators": m.oscillators or 0,
        "min_length": int(schema["lengths"]["min"]),
        "length_counts": by_class if m.conditional else [counts["all"]],
        "channels": schema["channels"],
        "statics": schema.get("statics", []),
        "derived": schema.get("derived", []),
        "id_column": schema["id_column"],
        "time_column": schema["time_column"],
        # The data's units travel with the weights: an export samples without the prepared data.
        "scaling": schema["scaling"],
    }

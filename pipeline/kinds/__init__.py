"""The data kinds and the one place that picks one: by data.kind (`get`), by a prepared data
set (`for_schema`), by an exported generator or model config (`for_generator`,
`for_model_config`) and by a loaded pyfunc (`for_model`).

Adding a kind adds a folder here (and one under ganmodels/) and a line in KINDS.
"""

from __future__ import annotations

from typing import Any

from pipeline.kinds.base import DataKind
from pipeline.kinds.image.kind import ImageKind
from pipeline.kinds.sequence.kind import SequenceKind
from pipeline.kinds.tabular.kind import TabularKind

KINDS: dict[str, DataKind] = {
    kind.name: kind for kind in (ImageKind(), TabularKind(), SequenceKind())
}
NAMES = tuple(KINDS)
KIND_METADATA = "gan_kind"  # a registered model's data kind, in its MLmodel metadata and tags


def get(name: str) -> DataKind:
    """The kind named by data.kind."""
    if name not in KINDS:
        raise ValueError(f"data.kind {name!r} is not a known kind ({', '.join(NAMES)})")
    return KINDS[name]


def for_schema(schema: dict[str, Any]) -> DataKind:
    """The kind of a prepared data set (its schema.json says)."""
    return get(str(schema.get("kind")))


def for_model_config(config: dict[str, Any], where: str = "model config") -> DataKind:
    """The kind of a model config (a checkpoint's or an exported generator's)."""
    kind = config.get("kind")
    if kind is None:
        raise ValueError(
            f"{where} has no data kind (exported before kinds were recorded): rerun "
            "`dvc repro train` to export it again"
        )
    if kind not in KINDS:
        raise ValueError(f"{where} is of data kind {kind!r}, not a known kind ({', '.join(NAMES)})")
    return KINDS[kind]


def for_generator(state: dict[str, Any], where: str = "generator file") -> DataKind:
    """The kind of an exported generator ({'model_config', 'state_dict', ...})."""
    return for_model_config(state.get("model_config", {}), where)


def for_model(model: Any) -> DataKind:
    """The kind of a loaded pyfunc: recorded in its metadata at register time; a model
    registered before kinds were recorded tells by its output signature (a tensor: images,
    columns: a table)."""
    recorded = (model.metadata.metadata or {}).get(KIND_METADATA)
    if recorded:
        return get(recorded)
    outputs = model.metadata.get_output_schema()
    return get("image" if outputs is not None and outputs.is_tensor_spec() else "tabular")

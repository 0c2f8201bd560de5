"""The data kinds and the one place that picks one: `get(data.kind)`, `for_schema(schema)`.

Adding a kind adds a folder here (and one under ganmodels/) and a line in KINDS.
"""

from __future__ import annotations

from typing import Any

from pipeline.kinds.base import DataKind
from pipeline.kinds.image.kind import ImageKind
from pipeline.kinds.tabular.kind import TabularKind

KINDS: dict[str, DataKind] = {kind.name: kind for kind in (ImageKind(), TabularKind())}
NAMES = tuple(KINDS)


def get(name: str) -> DataKind:
    """The kind named by data.kind."""
    if name not in KINDS:
        raise ValueError(f"data.kind {name!r} is not a known kind ({', '.join(NAMES)})")
    return KINDS[name]


def for_schema(schema: dict[str, Any]) -> DataKind:
    """The kind of a prepared data set (its schema.json says)."""
    return get(str(schema.get("kind")))


def for_generator(state: dict[str, Any]) -> DataKind:
    """The kind of an exported generator (its model config says)."""
    return get(str(state.get("model_config", {}).get("kind")))

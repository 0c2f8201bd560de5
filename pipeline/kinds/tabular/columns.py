"""data.columns: per column, a declared kind and any value rules that override what prepare
learns (ganmodels/tabular/rules.py): `{year: integer}` or `{income: {step: 100, heaps: [0]}}`."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ColumnKind = Literal["continuous", "integer", "categorical", "boolean", "datetime"]


class ColumnSpec(BaseModel):
    """One column's declarations; a key left out is inferred or learned from the train rows."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: ColumnKind | None = None
    step: float | None = Field(default=None, ge=0)  # rounding step; 0: no rounding
    heaps: list[float] | None = None  # exact values generated as modes of their own; []: none
    levels: bool | None = None  # true: generate only the column's observed values
    min: float | None = None
    max: float | None = None
    support: bool | None = None  # true: generate only the column's train values (nearest)
    derived_from: str | None = Field(default=None, min_length=1)  # computed from that column
    at_least: str | None = Field(default=None, min_length=1)  # never below that column

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        for name in ("step", "min", "max"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        for v in self.heaps or []:
            if not math.isfinite(v):
                raise ValueError(f"heaps must be finite numbers, got {v}")
            outside = (self.min is not None and v < self.min) or (
                self.max is not None and v > self.max
            )
            if outside:
                raise ValueError(f"heap {v} lies outside [min, max] = [{self.min}, {self.max}]")
        if self.levels and self.heaps is not None:
            raise ValueError("levels: true makes every value a heap; declare heaps or levels")
        return self

    def rules(self) -> dict[str, Any]:
        """The declared value rules (not the kind), as the transformer takes them."""
        keys = ("step", "heaps", "levels", "min", "max", "support", "derived_from", "at_least")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


def as_specs(value: Any) -> Any:
    """`{name: kind}` shorthand -> `{name: {kind: kind}}` (before validation)."""
    if not isinstance(value, dict):
        return value
    return {k: ({"kind": v} if isinstance(v, str) else v) for k, v in value.items()}


def off_or_most(value: float) -> float:
    """data.implication_share, data.order_share: 0 (off) or a majority ("a goes with b in 30%
    of rows" is not an implication, nor "a <= b" in 30% an order)."""
    if 0 < value <= 0.5:
        raise ValueError(f"must be 0 (off) or above 0.5, got {value}")
    return value

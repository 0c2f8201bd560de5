"""A reversible encoding of mixed-type tables for GANs (CTGAN's mode-specific normalization,
with each numeric column's value rules: ganmodels/tabular/rules.py).

Numeric columns (continuous, integer, datetime as seconds): each heap (an exact value holding a
notable share of rows, e.g. zero inflation) is a mode of its own, generated exactly; a Bayesian
Gaussian mixture over the remaining values picks each value's mode, and the value becomes
alpha = (x - mean) / (4 std) in [-1, 1]; the mode is one-hot. Decoding snaps the remainder to
the column's rounding step and range. A numeric column that is a function of an earlier one
(derived.py) takes no part of the row: it is computed from that column; one never below
another (orders.py) is generated as its excess over it. Each column's part: encoders.py.
Categorical and boolean columns: one-hot. A nullable column also gets a 2-way [present, null]
one-hot, so missing values are modelled, not dropped. The fitted state is plain JSON (means,
stds, rules, levels): saving it runs no pickle, and the inverse needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.bounds import bound_premises, find_bounds, within
from ganmodels.tabular.derived import derive, derived_columns
from ganmodels.tabular.encoders import (
    FALSE_WORDS,
    NUMERIC,
    TRUE_WORDS,
    column_encoder,
    decode_numeric,
    encode_discrete,
    encode_numeric,
    mode_width,
    numbers,
)
from ganmodels.tabular.implications import apply_exactly, find_implications, positions, slots
from ganmodels.tabular.label_shares import fit_label_shares
from ganmodels.tabular.orders import decode_upper, excess, order_columns
from ganmodels.tabular.restore import restore
from ganmodels.tabular.rules import RuleSettings, snap
from ganmodels.tabular.shares import choice_shares

__all__ = ["FALSE_WORDS", "NUMERIC", "TRUE_WORDS", "Span", "TableTransformer", "numbers"]


@dataclass(frozen=True)
class Span:
    """A slice of the encoded row: one column's scalar (tanh) or one-hot (softmax) part."""

    column: str
    activation: str  # "tanh" | "softmax"
    width: int
    role: str  # "scalar" (alpha) | "mode" | "level" (a discrete column's one-hot) | "null"
    # (a numeric column of heaps only is discrete: its heaps' one-hot is a "level" span)


class TableTransformer:
    """Encodes a DataFrame to float32 rows [N, D] and back (see the module docstring)."""

    def __init__(
        self,
        columns: list[dict[str, Any]],
        encoders: list[dict[str, Any]],
        implications: list[dict[str, Any]] | None = None,
        shares: dict[str, list[float]] | None = None,
        bounds: list[dict[str, Any]] | None = None,
        label_shares: dict[str, Any] | None = None,
    ) -> None:
        self.columns, self.encoders = columns, encoders
        self.implications = implications or []  # implications.py: exact values that go together
        self.rule_positions = positions(self.implications, self.slots())
        # Each column's choice shares in the train rows (shares.py; {} in older transformers).
        self.shares = shares or {}
        self.bounds = bounds or []  # bounds.py: a numeric column's range under another's value
        self.bound_positions = bound_premises(self.bounds, self.slots())
        # The label crossed with every other column in the train rows (label_shares.py).
        self.label_shares = label_shares or {}

    def slots(self) -> list[Any]:
        """Every exact value an encoded row can take (implications.slots)."""
        return slots(self.columns, self.encoders, self.spans)

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        columns: list[dict[str, Any]],
        max_modes: int = 10,
        fit_rows: int = 20_000,
        seed: int = 0,
        rules: RuleSettings | None = None,
        declared: dict[str, dict[str, Any]] | None = None,
        label: str | None = None,
    ) -> TableTransformer:
        """Fit on df (mixtures on at most fit_rows sampled rows, so large tables don't hang);
        numeric columns' rules learned with `rules` (None: range only), `declared` ones win."""
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(df), fit_rows, False) if len(df) > fit_rows else slice(None)
        declared = declared or {}
        values = {
            c["name"]: numbers(df[c["name"]], c["kind"]) for c in columns if c["kind"] in NUMERIC
        }
        derived = derived_columns(values, rules, declared)
        fit = dict(df=df, values=values, pick=pick, rules=rules, declared=declared,
                   derived=derived, max_modes=max_modes, seed=seed)  # fmt: skip
        encoders = [column_encoder(col, **fit) for col in columns]
        share = rules.implication_share if rules is not None else 0.0
        fitted = cls(columns, encoders).with_implications(df, share)
        # Orders among the columns no implication holds (those keep their exact values), and
        # declared ones: each upper column's encoder refitted on its excess.
        held = {rule[side]["column"] for rule in fitted.implications for side in ("if", "then")}
        discrete = {c["name"] for c, e in zip(columns, encoders, strict=True) if not e.get("means")}
        found = order_columns(values, rules.order_share if rules else 0.0, declared,
                              set(derived) | held | discrete)  # fmt: skip
        changed = False
        for k, col in enumerate(columns):
            if col["name"] in found:
                enc = column_encoder(col, **fit, lower=found[col["name"]])
                # An excess of few values would be a discrete column, whose levels a condition
                # `column == value` would read as the column's own: the plain encoder stays.
                if enc["means"]:
                    encoders[k], changed = enc, True
        if changed:
            fitted = cls(columns, encoders).with_implications(df, share)
        # What share calibration weights G's rows to (shares.py), in the final encoding.
        encoded = fitted.transform(df)
        shares = choice_shares(encoded, fitted.spans, fitted.heap_entries())
        bounds = []
        if rules is not None and rules.bounds:
            widths = [s.width for s in fitted.spans]
            # A derived column follows its source exactly: its ranges say nothing new.
            free = {k: v for k, v in values.items() if k not in derived}
            bounds = find_bounds(encoded, widths, fitted.slots(), free)
        crossed = fit_label_shares(df, columns, label) if label is not None else None
        return cls(fitted.columns, fitted.encoders, fitted.implications, shares, bounds, crossed)

    def with_implications(self, df: pd.DataFrame, share: float) -> TableTransformer:
        """This encoding with the implications that `share` of df's rows hold (0: none)."""
        if not share:
            return type(self)(self.columns, self.encoders)
        widths = [s.width for s in self.spans]
        found = find_implications(self.transform(df), widths, self.slots(), share)
        return type(self)(self.columns, self.encoders, found)

    def in_bounds(self, rows: np.ndarray, df: pd.DataFrame) -> np.ndarray:
        """Which of G's rows (encoded, as decoded into df) keep every bound (bounds.py)."""
        if not self.bounds:
            return np.ones(len(df), dtype=bool)
        widths = [s.width for s in self.spans]
        if self.rule_positions:  # the premises as decoding makes them
            rows = apply_exactly(rows, widths, self.rule_positions)
        kinds = {c["name"]: c["kind"] for c in self.columns}
        values = {b["column"]: numbers(df[b["column"]], kinds[b["column"]]) for b in self.bounds}
        return within(rows, widths, self.bounds, self.bound_positions, values)

    @property
    def spans(self) -> list[Span]:
        """The encoded row's layout, in order."""
        out = []
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                continue
            if col["kind"] in NUMERIC:
                modes = mode_width(enc)
                if enc["means"]:
                    out.append(Span(col["name"], "tanh", 1, "scalar"))
                    out.append(Span(col["name"], "softmax", modes, "mode"))
                else:  # heaps only (levels): no continuous part; a discrete column's one-hot
                    out.append(Span(col["name"], "softmax", modes, "level"))
            else:
                out.append(Span(col["name"], "softmax", len(enc["levels"]), "level"))
            if col["nullable"]:
                out.append(Span(col["name"], "softmax", 2, "null"))
        return out

    def heap_entries(self) -> dict[str, int]:
        """How many of each numeric column's mode one-hot entries are heaps (they come first)."""
        return {
            col["name"]: mode_width(enc) - len(enc["means"])
            for col, enc in zip(self.columns, self.encoders, strict=True)
            if col["kind"] in NUMERIC and enc.get("means") and "derived_from" not in enc
        }

    @property
    def width(self) -> int:
        """Encoded row width D."""
        return sum(s.width for s in self.spans)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Rows [N, D] float32; fails naming the column and row of an unknown category."""
        parts = []
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                continue
            s = df[col["name"]]
            null = s.isna().to_numpy()
            if col["kind"] in NUMERIC:
                x = numbers(s, col["kind"])
                own = None
                if "at_least" in enc:
                    lower = next(c for c in self.columns if c["name"] == enc["at_least"])
                    below = numbers(df[lower["name"]], lower["kind"])
                    own, x = x, excess(x, below, col["name"], lower["name"])
                parts += encode_numeric(x, null, enc, own)
            else:
                parts.append(encode_discrete(s, null, col, enc))
            if col["nullable"]:
                parts.append(np.stack([~null, null], axis=1).astype(np.float32))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def inverse_transform(self, rows: np.ndarray) -> pd.DataFrame:
        """A DataFrame with the original column names, dtypes and categories."""
        rows = np.asarray(rows, dtype=np.float64)
        if self.rule_positions:
            rows = apply_exactly(rows, [s.width for s in self.spans], self.rule_positions)
        at, out, raw, own = 0, {}, {}, {}
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                continue
            if col["kind"] in NUMERIC:
                values, own[col["name"]] = decode_numeric(rows, at, enc)
                at += int(bool(enc["means"])) + mode_width(enc)
            else:
                k = len(enc["levels"])
                values = np.array(enc["levels"], dtype=object)[rows[:, at : at + k].argmax(axis=1)]
                at += k
            null = np.zeros(len(rows), dtype=bool)
            if col["nullable"]:
                null = rows[:, at + 1] > rows[:, at]
                at += 2
            if col["kind"] in NUMERIC:
                raw[col["name"]] = np.where(null, np.nan, values)
            out[col["name"]] = restore(values, null, col)
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "at_least" in enc:  # the upper column: its lower one plus the generated excess
                upper = decode_upper(
                    raw[enc["at_least"]], raw[col["name"]], enc["own"], own[col["name"]]
                )
                raw[col["name"]] = upper
                out[col["name"]] = restore(upper, np.isnan(upper), col)
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                source = raw[enc["derived_from"]]
                out[col["name"]] = restore(snap(derive(source, enc), enc), np.isnan(source), col)
        return pd.DataFrame({col["name"]: out[col["name"]] for col in self.columns})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"columns": self.columns, "encoders": self.encoders,
                "implications": self.implications, "shares": self.shares,
                "bounds": self.bounds, "label_shares": self.label_shares}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableTransformer:
        """Inverse of to_dict (one saved before implications, shares or bounds has none)."""
        return cls(list(d["columns"]), list(d["encoders"]), list(d.get("implications", [])),
                   dict(d.get("shares", {})), list(d.get("bounds", [])),
                   dict(d.get("label_shares", {})))  # fmt: skip

"""A reversible encoding of mixed-type tables for GANs (CTGAN's mode-specific normalization,
with each numeric column's value rules: ganmodels/tabular/rules.py).

Numeric columns (continuous, integer, datetime as seconds): each heap (an exact value holding a
notable share of rows, e.g. zero inflation) is a mode of its own, generated exactly; a Bayesian
Gaussian mixture over the remaining values picks each value's mode, and the value becomes
alpha = (x - mean) / (4 std) in [-1, 1]; the mode is one-hot. Decoding snaps the remainder to
the column's rounding step and range. A numeric column that is a function of an earlier one
(derived.py) takes no part of the row: it is computed from that column. Categorical and boolean
columns: one-hot. A nullable
column also gets a 2-way [present, null] one-hot, so missing values are modelled, not dropped.
The fitted state is plain JSON (means, stds, rules, levels): saving it runs no pickle, and the
inverse needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.derived import derive, derived_columns, fit_knots
from ganmodels.tabular.implications import apply_exactly, find_implications, positions, slots
from ganmodels.tabular.modes import fit_modes
from ganmodels.tabular.restore import restore
from ganmodels.tabular.rules import RuleSettings, is_heap, learn_rules, snap

NUMERIC = ("continuous", "integer", "datetime")
TRUE_WORDS, FALSE_WORDS = frozenset({"true", "yes", "t", "y"}), frozenset({"false", "no", "f", "n"})


@dataclass(frozen=True)
class Span:
    """A slice of the encoded row: one column's scalar (tanh) or one-hot (softmax) part."""

    column: str
    activation: str  # "tanh" | "softmax"
    width: int
    role: str  # "scalar" (alpha) | "mode" | "level" (a discrete column's one-hot) | "null"
    # (a numeric column of heaps only is discrete: its heaps' one-hot is a "level" span)


def numbers(s: pd.Series, kind: str) -> np.ndarray:
    """A numeric column as float64 (datetimes as seconds since the epoch); missing -> NaN."""
    if kind == "datetime":
        when = pd.to_datetime(s, errors="coerce", format="mixed")
        # Seconds since the epoch, whatever the unit pandas stores (ns, us...); NaT -> NaN.
        return ((when - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)


class TableTransformer:
    """Encodes a DataFrame to float32 rows [N, D] and back (see the module docstring)."""

    def __init__(
        self,
        columns: list[dict[str, Any]],
        encoders: list[dict[str, Any]],
        implications: list[dict[str, Any]] | None = None,
    ) -> None:
        self.columns, self.encoders = columns, encoders
        self.implications = implications or []  # implications.py: exact values that go together
        self.rule_positions = positions(self.implications, self.slots())

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
    ) -> TableTransformer:
        """Fit on df (mixtures on at most fit_rows sampled rows, so large tables don't hang);
        numeric columns' rules learned with `rules` (None: range only), `declared` ones win."""
        rng = np.random.default_rng(seed)
        sample = df if len(df) <= fit_rows else df.iloc[rng.choice(len(df), fit_rows, False)]
        declared = declared or {}
        values = {
            c["name"]: numbers(df[c["name"]], c["kind"]) for c in columns if c["kind"] in NUMERIC
        }
        derived = derived_columns(values, rules, declared)
        encoders = []
        for col in columns:
            if col["kind"] in NUMERIC:
                full = values[col["name"]]
                found = learn_rules(
                    full[~np.isnan(full)],
                    col["kind"] == "integer",
                    rules,
                    declared.get(col["name"], {}),
                )
                if col["name"] in derived:  # computed from its source: nothing to generate
                    source = derived[col["name"]]
                    knots = fit_knots(values[source], full, source, col["name"])
                    encoders.append({"means": [], "stds": [], **found, **knots})
                    continue
                x = numbers(sample[col["name"]], col["kind"])
                x = x[~np.isnan(x)]
                rest = x[is_heap(x, found["heaps"]) < 0]  # the mixture models what heaps don't
                means, stds = fit_modes(rest, max_modes, seed) if len(rest) else ([], [])
                enc = {"means": means, "stds": stds, **found}
                if means:  # how often each mode occurs: unconditional sampling's conditions
                    present = full[~np.isnan(full)]
                    onehot = cls._encode_numeric(present, np.zeros(len(present), bool), enc)[-1]
                    enc["mode_counts"] = onehot.sum(axis=0).astype(int).tolist()
                if not means:  # heaps only: a discrete column, conditioned on as one
                    heap = is_heap(full[~np.isnan(full)], found["heaps"])
                    enc["counts"] = np.bincount(heap[heap >= 0], minlength=len(found["heaps"]))
                    enc["counts"] = enc["counts"].astype(int).tolist()
            else:
                enc = {"levels": list(col["categories"])}
                s = df[col["name"]]
                null = s.isna().to_numpy()
                onehot = cls._encode_discrete(s, null, col, enc)
                # Level frequencies: what unconditional sampling draws its conditions from.
                enc["counts"] = onehot[~null].sum(axis=0).astype(int).tolist()
            encoders.append(enc)
        fitted = cls(columns, encoders)
        share = rules.implication_share if rules is not None else 0.0
        return fitted.with_implications(df, share) if share else fitted

    def with_implications(self, df: pd.DataFrame, share: float) -> TableTransformer:
        """This encoding with the implications that `share` of df's rows hold."""
        widths = [s.width for s in self.spans]
        found = find_implications(self.transform(df), widths, self.slots(), share)
        return type(self)(self.columns, self.encoders, found)

    @property
    def spans(self) -> list[Span]:
        """The encoded row's layout, in order."""
        out = []
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                continue
            if col["kind"] in NUMERIC:
                modes = len(enc.get("heaps", [])) + len(enc["means"])
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
                parts += self._encode_numeric(numbers(s, col["kind"]), null, enc)
            else:
                parts.append(self._encode_discrete(s, null, col, enc))
            if col["nullable"]:
                parts.append(np.stack([~null, null], axis=1).astype(np.float32))
        return np.concatenate(parts, axis=1).astype(np.float32)

    @staticmethod
    def _encode_numeric(x: np.ndarray, null: np.ndarray, enc: dict) -> list[np.ndarray]:
        heaps = np.array(enc.get("heaps", []), dtype=np.float64)
        means, stds = np.array(enc["means"]), np.array(enc["stds"])
        modes = np.zeros(len(x), dtype=np.int64)  # a null row: the first mode, alpha 0
        alpha = np.zeros(len(x))
        heap = is_heap(np.where(null, np.nan, x), heaps.tolist())
        if len(means):
            rest = (heap < 0) & ~null
            # The most likely mixture mode (equal weights: the kept modes all matter).
            score = -0.5 * ((x[rest, None] - means) / stds) ** 2 - np.log(stds)
            mode = score.argmax(axis=1)
            modes[rest] = len(heaps) + mode
            alpha[rest] = np.clip((x[rest] - means[mode]) / (4 * stds[mode]), -0.99, 0.99)
        else:  # levels only: a value train never had (a holdout's) goes to the nearest level
            off = (heap < 0) & ~null
            heap[off] = np.abs(x[off, None] - heaps).argmin(axis=1)
        modes[heap >= 0] = heap[heap >= 0]
        onehot = np.eye(len(heaps) + len(means), dtype=np.float32)[modes]
        return ([alpha[:, None].astype(np.float32)] if len(means) else []) + [onehot]

    @staticmethod
    def _encode_discrete(s: pd.Series, null: np.ndarray, col: dict, enc: dict) -> np.ndarray:
        index = {v: i for i, v in enumerate(enc["levels"])}
        values = s.to_numpy(dtype=object)
        if col["kind"] == "boolean":
            # Levels are (false, true), as booleans or as the file's words (no, yes).
            index = {False: 0, True: 1}
            values = [v if isinstance(v, bool) or v is None
                      else str(v).strip().lower() in TRUE_WORDS
                      for v in np.where(null, None, values)]  # fmt: skip
        codes = np.zeros(len(s), dtype=np.int64)
        for row, (v, is_null) in enumerate(zip(values, null, strict=True)):
            if is_null:
                continue
            key = v.item() if isinstance(v, np.generic) else v
            if key not in index:
                raise ValueError(
                    f"column {col['name']!r}, row {row + 1}: value {key!r} is not among the "
                    f"fitted categories {enc['levels'][:10]}"
                )
            codes[row] = index[key]
        return np.eye(len(enc["levels"]), dtype=np.float32)[codes]

    def inverse_transform(self, rows: np.ndarray) -> pd.DataFrame:
        """A DataFrame with the original column names, dtypes and categories."""
        rows = np.asarray(rows, dtype=np.float64)
        if self.rule_positions:
            rows = apply_exactly(rows, [s.width for s in self.spans], self.rule_positions)
        at, out, raw = 0, {}, {}
        for col, enc in zip(self.columns, self.encoders, strict=True):
            if "derived_from" in enc:
                continue
            if col["kind"] in NUMERIC:
                values: Any = self._decode_numeric(rows, at, enc)
                at += int(bool(enc["means"])) + len(enc.get("heaps", [])) + len(enc["means"])
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
            if "derived_from" in enc:
                source = raw[enc["derived_from"]]
                out[col["name"]] = restore(snap(derive(source, enc), enc), np.isnan(source), col)
        return pd.DataFrame({col["name"]: out[col["name"]] for col in self.columns})

    @staticmethod
    def _decode_numeric(rows: np.ndarray, at: int, enc: dict) -> np.ndarray:
        """A numeric column from its span: heaps exactly, the rest snapped to its rules."""
        heaps = np.array(enc.get("heaps", []), dtype=np.float64)
        means, stds = np.array(enc["means"]), np.array(enc["stds"])
        k = len(means)
        alpha = rows[:, at] if k else np.zeros(len(rows))
        at += int(bool(k))
        modes = rows[:, at : at + len(heaps) + k].argmax(axis=1)
        values = np.empty(len(rows))
        heap = modes < len(heaps)
        values[heap] = heaps[modes[heap]]
        m = modes[~heap] - len(heaps)
        rest = means[m] + np.clip(alpha[~heap], -1, 1) * 4 * stds[m]
        values[~heap] = snap(rest, enc)
        return values

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"columns": self.columns, "encoders": self.encoders,
                "implications": self.implications}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableTransformer:
        """Inverse of to_dict (a transformer saved before implications has none)."""
        return cls(list(d["columns"]), list(d["encoders"]), list(d.get("implications", [])))

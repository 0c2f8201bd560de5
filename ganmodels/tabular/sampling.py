"""Rows from a trained tabular generator, decoded to the original columns: unconditionally (at
the training data's own level frequencies, as CTGAN samples) or all with `column == value`.

A condition vector only asks G for a level; G may still draw another. Conditional sampling
therefore draws in rounds and keeps the rows that have the value (rejection), so every
returned row honours the condition, or it fails saying how rare the value is.

Calibrated (model.calibrate), unconditional sampling also keeps each row by its share weight
(shares.py), so every column's choices come at the train rows' shares, and maps the values
within each mixture mode to the train rows' spread (calibration.py). Conditional sampling
keeps the spread only: the shares given a condition are not known.

Every way of sampling keeps only rows inside the transformer's bounds (bounds.py: "income is
null => age <= 15"), drawing more rounds for the rows it drops; the share weights are fitted
on the reference rows inside them, so the kept rows still come at the train rows' shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ganmodels.tabular.calibration import apply_maps, fit_maps
from ganmodels.tabular.conditions import ConditionLayout
from ganmodels.tabular.implications import apply_exactly
from ganmodels.tabular.label_shares import label_codes, label_targets
from ganmodels.tabular.shares import Raking, choices, fit_raking
from ganmodels.tabular.transformer import FALSE_WORDS, TRUE_WORDS, TableTransformer

MAX_ROUNDS = 50  # conditional draws: at most this many rounds of max(n, 256) rows
MAX_DRAWN = 200  # unconditional draws: at most this many times max(n, 256) rows in all
REFERENCE_ROWS, REFERENCE_SEED = 20_000, 20_251_201  # the calibration's batch of G's rows


class TableSampler:
    """Samples a tabular G (eval mode) through its fitted transformer."""

    def __init__(
        self,
        G: torch.nn.Module,
        transformer: TableTransformer,
        modes: bool = False,
        calibrate: bool = False,
        label_raking: bool = False,
    ) -> None:
        self.G, self.transformer, self.maps = G, transformer, []
        # The label crossed with each column (label_shares.py): raked on decoded rows.
        self.crossed = transformer.label_shares if calibrate and label_raking else {}
        self.raking: Raking | None = None
        self._spans, self._heaps = transformer.spans, transformer.heap_entries()
        self.layout = ConditionLayout(transformer.spans, modes)
        self.discrete = [s.column for s in transformer.spans if s.role == "level"]
        key = {"level": "counts", "mode": "mode_counts"}
        roles = {s.column: s.role for s in transformer.spans if s.role in self.layout.roles}
        counts = {
            col["name"]: np.asarray(enc[key[roles[col["name"]]]], dtype=np.float64)
            for col, enc in zip(transformer.columns, transformer.encoders, strict=True)
            if col["name"] in roles and key[roles[col["name"]]] in enc
        }
        missing = [c for c in self.layout.columns if c not in counts]
        if missing:
            raise ValueError(f"the transformer has no level counts for {missing}: re-prepare")
        self.freq = [counts[c] / counts[c].sum() for c in self.layout.columns]
        if calibrate:  # from one fixed reference batch: the share weights, then per mode
            rng, gen = np.random.default_rng(REFERENCE_SEED), torch.Generator()
            rows = self._rows(self._conditions(REFERENCE_ROWS, rng), gen.manual_seed(0))
            codes, kept = self._codes(rows), rows
            if transformer.shares:  # none in exports made before them
                self.raking = fit_raking(codes, transformer.shares)
                kept = rows[self.raking.keep(codes, rng)]  # G's spread in the kept rows
            self.maps = fit_maps(kept, transformer)
            valid = self._valid(rows) if transformer.bounds else None
            ok = valid if valid is not None else np.ones(len(rows), dtype=bool)
            if self.raking is not None and ok.any() and (valid is not None or self.crossed):
                # The weights again on the rows that survive the bounds as drawing decodes
                # them (spread mapped), so the rows kept come at the train rows' shares; with
                # the label crossed with each column among the margins where asked.
                targets = transformer.shares
                if self.crossed:
                    df = transformer.inverse_transform(apply_maps(rows, self.maps))
                    codes = {**codes, **self._crossed_codes(df)}
                    targets = {**targets, **label_targets(self.crossed)}
                self.raking = fit_raking({k: v[ok] for k, v in codes.items()}, targets)

    def _conditions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Unconditional: a column uniformly, then a level by its frequency in the data."""
        if not self.layout.columns:
            return np.zeros((n, 0), np.float32)
        cols = rng.integers(0, len(self.layout.columns), n)
        levels = np.array([rng.choice(self.layout.widths[c], p=self.freq[c]) for c in cols])
        return self.layout.vectors(cols, levels)

    def level_of(self, column: str, value: Any) -> tuple[int, int]:
        """(column index, level index) of `column == value`; value may be the level's text."""
        if column not in self.discrete:
            raise ValueError(
                f"cannot condition on {column!r}: the discrete columns are {self.discrete}"
            )
        c = self.layout.columns.index(column)
        levels = self._levels(column)
        for k, level in enumerate(levels):
            if level == value or _text(level) == _text(value):
                return c, k
        raise ValueError(f"column {column!r} has no level {value!r} (levels: {levels})")

    def _levels(self, column: str) -> list[Any]:
        names = [col["name"] for col in self.transformer.columns]
        enc = self.transformer.encoders[names.index(column)]
        return enc["heaps"] if "heaps" in enc else enc["levels"]  # a numeric one: its heaps

    @torch.no_grad()
    def _rows(self, cond: np.ndarray, gen: torch.Generator) -> np.ndarray:
        z = torch.randn(len(cond), self.G.z_dim, generator=gen)
        c = torch.from_numpy(cond) if self.layout.cond_dim else None
        return self.G(z, c, generator=gen).numpy()

    def _codes(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Each column's choice per row, as decoding will make it (implications applied)."""
        rules = self.transformer.rule_positions
        if rules:
            rows = apply_exactly(rows, [s.width for s in self._spans], rules)
        return choices(rows, self._spans, self._heaps)

    def _crossed_codes(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each decoded row's (label level, column bin) codes (label_shares.py)."""
        return {k: code for k, (code, _) in label_codes(df, self.crossed).items()}

    def _valid(self, rows: np.ndarray) -> np.ndarray:
        """Which of G's rows keep every bound once decoded (the spread mapped)."""
        rows = apply_maps(rows, self.maps)
        return self.transformer.in_bounds(rows, self.transformer.inverse_transform(rows))

    def _decoded(self, rows: np.ndarray) -> pd.DataFrame:
        """G's rows decoded (the spread mapped), only those inside the bounds."""
        rows = apply_maps(rows, self.maps)
        df = self.transformer.inverse_transform(rows)
        return df[self.transformer.in_bounds(rows, df)].reset_index(drop=True)

    def _draw(self, cond: np.ndarray, gen: torch.Generator) -> pd.DataFrame:
        return self._decoded(self._rows(cond, gen))

    def _draw_plain(self, n: int, rng: np.random.Generator, gen: torch.Generator) -> pd.DataFrame:
        """n rows as G draws them, inside the bounds."""
        return self._in_rounds(n, n, lambda b: self._draw(self._conditions(b, rng), gen))

    def _draw_raked(
        self, n: int, raking: Raking, rng: np.random.Generator, gen: torch.Generator
    ) -> pd.DataFrame:
        """n rows, each drawn row kept by its share weight."""

        def draw(batch: int) -> pd.DataFrame:
            rows = self._rows(self._conditions(batch, rng), gen)
            if not self.crossed:
                return self._decoded(rows[raking.keep(self._codes(rows), rng)])
            # The crossed codes read decoded values: decode every row, then keep by weight.
            mapped = apply_maps(rows, self.maps)
            df = self.transformer.inverse_transform(mapped)
            codes = {**self._codes(rows), **self._crossed_codes(df)}
            keep = raking.keep(codes, rng) & self.transformer.in_bounds(mapped, df)
            return df[keep].reset_index(drop=True)

        return self._in_rounds(n, _batch(n, 0, 0), draw)

    def _in_rounds(self, n: int, first: int, draw: Any) -> pd.DataFrame:
        """Rounds of draw(batch) until n rows are kept, each round sized by the share of drawn
        rows kept so far; fails, naming the bounds, once MAX_DRAWN x max(n, 256) rows gave
        fewer than n (a generator that almost never keeps them would loop for ever)."""
        kept: list[pd.DataFrame] = []
        got = drawn = 0
        batch = first
        while got < n:
            if drawn >= MAX_DRAWN * max(n, 256):
                raise ValueError(
                    f"only {got} of {drawn} rows drawn kept the transformer's bounds and share "
                    f"weights (needed {n}): the generator rarely produces rows inside the bounds "
                    f"{_bound_names(self.transformer.bounds)} (train longer, or "
                    "data.find_bounds: false)"
                )
            rows = draw(batch)
            kept.append(rows)
            got, drawn = got + len(rows), drawn + batch
            batch = _batch(n, got, drawn)
        return pd.concat(kept, ignore_index=True).iloc[:n]

    def sample(
        self, n: int, seed: int, column: str | None = None, value: Any = None
    ) -> pd.DataFrame:
        """n rows, the same for the same seed; with `column`, every row has column == value."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        gen = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        if column is None and self.raking is not None:
            return self._draw_raked(n, self.raking, rng, gen)
        if column is None:
            return self._draw_plain(n, rng, gen)
        c, k = self.level_of(column, value)
        level = self._levels(column)[k]
        cond = self.layout.vectors(np.full(max(n, 256), c), np.full(max(n, 256), k))
        kept: list[pd.DataFrame] = []
        got = drawn = 0
        for _ in range(MAX_ROUNDS):
            rows = self._draw(cond, gen)
            drawn += len(cond)  # rows drawn, those outside the bounds too
            match = rows[(rows[column] == level).fillna(False).to_numpy(dtype=bool)]
            kept.append(match)
            got += len(match)
            if got >= n:
                return pd.concat(kept, ignore_index=True).iloc[:n]
        raise ValueError(
            f"only {got} of {drawn} rows drawn with {column} == {level!r} had that value "
            f"(needed {n}): the generator rarely produces it"
        )


def _batch(n: int, got: int, drawn: int) -> int:
    """The next round's rows: twice what the rows still missing take at the share kept so
    far, at least 256, at most 50 x max(n, 256) (memory)."""
    rate = got / drawn if drawn else 1.0
    want = 2 * (n - got) / max(rate, 1e-9)
    return int(min(max(want, 256), 50 * max(n, 256)))


def _bound_names(bounds: list[dict[str, Any]]) -> str:
    """The bounds as `if -> column` pairs, for an error message."""
    return ", ".join(sorted({f"{b['if']['column']} -> {b['column']}" for b in bounds})) or "(none)"


def table_sampler_from_state(state: dict[str, Any]) -> TableSampler:
    """A sampler for an exported tabular generator ({'model_config' with its transformer})."""
    from ganmodels.build import generator_from_state

    config = state.get("model_config", {})
    if "transformer" not in config:
        raise ValueError("not a tabular generator export: its model_config has no transformer")
    return TableSampler(
        generator_from_state(state),
        TableTransformer.from_dict(config["transformer"]),
        bool(config.get("condition_modes", False)),  # exports before the option: levels only
        bool(config.get("calibrate", False)),  # exports before it: as drawn
        bool(config.get("label_raking", False)),
    )


def _text(value: Any) -> str:
    """A level's text form for matching user input ("2008" == 2008, "true" == True)."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():  # a numeric column's heap: 3.0 is "3"
        value = int(value)
    text = str(value).strip()
    if text.lower() in TRUE_WORDS:
        return "true"
    return "false" if text.lower() in FALSE_WORDS else text

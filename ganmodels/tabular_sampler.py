"""Training-by-sampling (CTGAN): condition vectors over the discrete columns, and real rows
that match them, so rare categories are trained as often as their log-frequency says."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganmodels.tabular import Span


class ConditionSampler:
    """Condition vectors (one-hot over every discrete column's levels) and matching rows."""

    def __init__(self, rows: np.ndarray, spans: Sequence[Span]) -> None:
        starts = np.cumsum([0] + [s.width for s in spans])[:-1]
        self.columns = [s.column for s in spans if s.role == "level"]
        self.widths = [s.width for s in spans if s.role == "level"]
        self.offsets = np.cumsum([0] + self.widths)[:-1]  # of each column in the condition
        self.cond_dim = int(sum(self.widths))
        self.level_rows: list[list[np.ndarray]] = []
        self.log_freq: list[np.ndarray] = []
        self.freq: list[np.ndarray] = []
        for span, start in zip(spans, starts, strict=True):
            if span.role != "level":
                continue
            codes = rows[:, start : start + span.width].argmax(axis=1)
            counts = np.bincount(codes, minlength=span.width).astype(np.float64)
            self.level_rows.append([np.flatnonzero(codes == k) for k in range(span.width)])
            log = np.log(counts + 1.0) * (counts > 0)  # a level absent from train is never asked
            self.log_freq.append(log / log.sum())
            self.freq.append(counts / counts.sum())

    def _vectors(self, cols: np.ndarray, levels: np.ndarray) -> np.ndarray:
        cond = np.zeros((len(cols), self.cond_dim), dtype=np.float32)
        cond[np.arange(len(cols)), self.offsets[cols] + levels] = 1.0
        return cond

    def train_conditions(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cond [n, cond_dim], column [n], level [n]): a column uniformly, a level by log-freq."""
        if not self.columns:  # no discrete column: nothing to condition on
            return np.zeros((n, 0), np.float32), np.zeros(n, np.int64), np.zeros(n, np.int64)
        cols = rng.integers(0, len(self.columns), n)
        levels = np.array([rng.choice(self.widths[c], p=self.log_freq[c]) for c in cols])
        return self._vectors(cols, levels), cols, levels

    def matching_rows(
        self, cols: np.ndarray, levels: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each (column, level), a random real row that has it."""
        return np.array(
            [rng.choice(self.level_rows[c][k]) for c, k in zip(cols, levels, strict=True)]
        )

    def sampling_conditions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Conditions for unconditional sampling: a column uniformly, a level by its frequency."""
        if not self.columns:
            return np.zeros((n, 0), np.float32)
        cols = rng.integers(0, len(self.columns), n)
        levels = np.array([rng.choice(self.widths[c], p=self.freq[c]) for c in cols])
        return self._vectors(cols, levels)

    def fixed_condition(self, column: str, level: int, n: int) -> np.ndarray:
        """n copies of the condition `column == level` (conditional sampling)."""
        if column not in self.columns:
            raise ValueError(f"cannot condition on {column!r}: discrete columns are {self.columns}")
        c = self.columns.index(column)
        if not 0 <= level < self.widths[c]:
            raise ValueError(f"column {column!r} has {self.widths[c]} levels, not level {level}")
        return self._vectors(np.full(n, c), np.full(n, level))


class Conditioner:
    """ConditionSampler for the training step: torch condition vectors drawn from a torch
    generator's stream, and CTGAN's conditional loss (G must produce the asked level)."""

    def __init__(self, sampler: ConditionSampler, spans: Sequence[Span]) -> None:
        self.sampler = sampler
        starts = np.cumsum([0] + [s.width for s in spans])[:-1]
        # Where each discrete column's level one-hot sits in the encoded row (and G's logits).
        self.level_starts = [
            int(a) for s, a in zip(spans, starts, strict=True) if s.role == "level"
        ]

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, tuple[np.ndarray, np.ndarray]]:
        """Condition vectors [n, cond_dim] and the (column, level) pairs they encode."""
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        cond, cols, levels = self.sampler.train_conditions(n, rng)
        return torch.from_numpy(cond), (cols, levels)

    def loss(self, logits: torch.Tensor, asked: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
        """Mean cross-entropy of G's logits for each asked column against the asked level."""
        cols, levels = asked
        total = logits.new_zeros(())
        for c, start in enumerate(self.level_starts):
            rows = np.flatnonzero(cols == c)
            if len(rows):
                width = self.sampler.widths[c]
                target = torch.from_numpy(levels[rows]).to(logits.device)
                span = logits[torch.from_numpy(rows).to(logits.device), start : start + width]
                total = total + F.cross_entropy(span, target, reduction="sum")
        return total / max(len(cols), 1)

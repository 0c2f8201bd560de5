"""Training-by-sampling (CTGAN): condition vectors over the discrete columns, and real rows
that match them, so rare categories are trained as often as their log-frequency says."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganmodels.conditioning import Loss
from ganmodels.tabular.transformer import Span


class ConditionLayout:
    """Where each conditioned column's levels (or modes) sit in the condition vector (their
    one-hots, in column order): shared by training-by-sampling and by sampling a trained G."""

    def __init__(self, spans: Sequence[Span], modes: bool = False) -> None:
        # Discrete columns' levels (CTGAN); with `modes` also each numeric column's mode (its
        # heaps and mixture modes, as CTAB-GAN), so G learns which modes go together.
        self.roles = ("level", "mode") if modes else ("level",)
        self.columns = [s.column for s in spans if s.role in self.roles]
        self.widths = [s.width for s in spans if s.role in self.roles]
        self.offsets = np.cumsum([0] + self.widths)[:-1]  # of each column in the condition
        self.cond_dim = int(sum(self.widths))

    def vectors(self, cols: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """One-hot conditions [n, cond_dim] for (column index, level) pairs."""
        cond = np.zeros((len(cols), self.cond_dim), dtype=np.float32)
        cond[np.arange(len(cols)), self.offsets[cols] + levels] = 1.0
        return cond


def column_shares(columns: Sequence[str], favoured: str, share: float) -> np.ndarray:
    """Probabilities of conditioning on each column: `share` on `favoured`, the rest alike."""
    if favoured not in columns:
        raise ValueError(f"{favoured!r} is not a discrete column (those are {list(columns)})")
    if len(columns) == 1:
        return np.ones(1)
    p = np.full(len(columns), (1.0 - share) / (len(columns) - 1))
    p[list(columns).index(favoured)] = share
    return p


class ConditionSampler(ConditionLayout):
    """Training-by-sampling: condition vectors by log-frequency, and real rows matching them."""

    def __init__(
        self,
        rows: np.ndarray,
        spans: Sequence[Span],
        column_p: np.ndarray | None = None,
        modes: bool = False,
    ) -> None:
        super().__init__(spans, modes)
        self.column_p = column_p  # how often each discrete column is conditioned on (None: alike)
        starts = np.cumsum([0] + [s.width for s in spans])[:-1]
        # Per discrete column: its rows sorted by level, where each level's run starts and how
        # long it is, so matching rows are drawn for a whole batch at once (no per-row Python).
        self.by_level: list[np.ndarray] = []
        self.level_start: list[np.ndarray] = []
        self.level_count: list[np.ndarray] = []
        self.log_freq: list[np.ndarray] = []
        for span, start in zip(spans, starts, strict=True):
            if span.role not in self.roles:
                continue
            codes = rows[:, start : start + span.width].argmax(axis=1)
            counts = np.bincount(codes, minlength=span.width)
            self.by_level.append(np.argsort(codes, kind="stable"))
            self.level_start.append(np.cumsum([0, *counts[:-1]]))
            self.level_count.append(counts)
            log = np.log(counts + 1.0) * (counts > 0)  # a level absent from train is never asked
            self.log_freq.append(log / log.sum())

    def train_conditions(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cond [n, cond_dim], column [n], level [n]): a column (uniformly, or by column_p),
        a level by log-freq."""
        if not self.columns:  # no discrete column: nothing to condition on
            return np.zeros((n, 0), np.float32), np.zeros(n, np.int64), np.zeros(n, np.int64)
        if self.column_p is None:
            cols = rng.integers(0, len(self.columns), n)
        else:
            cols = rng.choice(len(self.columns), n, p=self.column_p)
        levels = np.zeros(n, dtype=np.int64)
        for c in range(len(self.columns)):
            rows = np.flatnonzero(cols == c)
            levels[rows] = rng.choice(self.widths[c], size=len(rows), p=self.log_freq[c])
        return self.vectors(cols, levels), cols, levels

    def matching_rows(
        self, cols: np.ndarray, levels: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each (column, level), a random real row that has it."""
        out = np.zeros(len(cols), dtype=np.int64)
        u = rng.random(len(cols))
        for c in range(len(self.columns)):
            rows = np.flatnonzero(cols == c)
            k = levels[rows]
            pick = self.level_start[c][k] + (u[rows] * self.level_count[c][k]).astype(np.int64)
            out[rows] = self.by_level[c][pick]
        return out


class Conditioner:
    """ConditionSampler for the training step: torch condition vectors drawn from a torch
    generator's stream, and CTGAN's conditional loss (G must produce the asked level)."""

    def __init__(
        self,
        sampler: ConditionSampler,
        spans: Sequence[Span],
        aux_label: Sequence[int] | None = None,
        aux_weight: float = 0.0,
    ) -> None:
        self.sampler = sampler
        # The label's one-hot (start, width) in the row, for D's auxiliary classifier (CTAB-GAN).
        self.aux_label, self.aux_weight = aux_label, aux_weight if aux_label else 0.0
        starts = np.cumsum([0] + [s.width for s in spans])[:-1]
        # Where each conditioned one-hot sits in the encoded row (and G's logits).
        self.level_starts = [
            int(a) for s, a in zip(spans, starts, strict=True) if s.role in sampler.roles
        ]

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, tuple[np.ndarray, np.ndarray]]:
        """Condition vectors [n, cond_dim] and the (column, level) pairs they encode."""
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        cond, cols, levels = self.sampler.train_conditions(n, rng)
        return torch.from_numpy(cond), (cols, levels)

    def generator_loss(
        self,
        G: nn.Module,
        D: nn.Module,
        z: torch.Tensor,
        y: torch.Tensor | None,
        asked: tuple[np.ndarray, np.ndarray],
        adversarial: Loss,
        augment: Callable[[torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's adversarial loss plus CTGAN's: G must also produce the level its condition asks
        for (tables take no augmentation); and the fake rows."""
        fake, logits = G(z, y, with_logits=True)
        loss = adversarial(D(fake.float(), y).float()) + self.loss(logits.float(), asked)
        if self.aux_weight:  # the fake row's label must be the one its other columns imply
            loss = loss + self.aux_weight * self._label_loss(D, fake.float())
        return loss, fake.float()

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor) -> torch.Tensor | None:
        """The auxiliary classifier's loss on real rows (None without one)."""
        return self.aux_weight * self._label_loss(D, real) if self.aux_weight else None

    def _label_loss(self, D: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        start, width = self.aux_label  # type: ignore[misc]
        target = rows[:, start : start + width].detach().argmax(dim=1)
        return F.cross_entropy(D(rows, None, classify=True).float(), target)

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

"""CTGAN-style networks for encoded table rows (the encoding: ganmodels/tabular/transformer.py).

G: residual MLP; z (+ condition vector) -> an encoded row: tanh for each scalar, Gumbel-softmax
for each one-hot span, so discrete columns stay differentiable yet near one-hot.
D: PacGAN: scores packs of `pac` rows (concatenated) at once, which penalises mode collapse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ganmodels.tabular.implications import layers

Spans = Sequence[tuple[str, int]]  # (activation "tanh" | "softmax", width), in row order


class Residual(nn.Module):
    """Linear -> BN -> ReLU, concatenated to its input (CTGAN's residual block)."""

    def __init__(self, dim: int, out: int) -> None:
        super().__init__()
        self.fc, self.bn = nn.Linear(dim, out), nn.BatchNorm1d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, dim] -> [N, dim + out]."""
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class TabularGenerator(nn.Module):
    """z [N, z_dim] (+ cond [N, cond_dim]) -> encoded rows [N, sum(widths)]."""

    def __init__(
        self, z_dim: int, spans: Spans, cond_dim: int = 0, hidden: Sequence[int] = (256, 256),
        tau: float = 0.2, implications: Sequence[Any] = (),
    ) -> None:  # fmt: skip
        super().__init__()
        self.z_dim, self.cond_dim, self.spans, self.tau = z_dim, cond_dim, list(spans), tau
        # [premise (span, index) pairs, consequence pairs]: ganmodels/tabular/implications.py
        self.implications = [([tuple(p) for p in a], [tuple(p) for p in b])
                             for a, b in implications]  # fmt: skip
        self._batches = self._plan([w for _, w in self.spans])
        soft, segment, at = [], [], 0
        self._soft_widths = [w for a, w in self.spans if a != "tanh"]
        for activation, width in self.spans:
            if activation != "tanh":  # the one-hot spans' entries, and which span each is in
                segment += [segment[-1] + 1 if segment else 0] * width
                soft += range(at, at + width)
            at += width
        self.register_buffer("_soft", torch.tensor(soft, dtype=torch.long), persistent=False)
        self.register_buffer("_segment", torch.tensor(segment, dtype=torch.long), persistent=False)
        self.num_classes = 0  # the image code paths ask; tables condition through `cond`
        blocks, dim = [], z_dim + cond_dim
        for width in hidden:
            blocks.append(Residual(dim, width))
            dim += width
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(dim, sum(w for _, w in self.spans))

    def forward(
        self,
        z: torch.Tensor,
        cond: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        with_logits: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Encoded rows: activations applied per span (Gumbel noise from `generator`); with
        with_logits, also the raw head output (the conditional loss reads it)."""
        if self.cond_dim:
            if cond is None or cond.shape != (z.shape[0], self.cond_dim):
                raise ValueError(
                    f"expected a condition vector of shape [{z.shape[0]}, {self.cond_dim}]"
                )
            z = torch.cat([z, cond], dim=1)
        raw = self.head(self.body(z))
        rows = self.activate(raw, generator)
        return (rows, raw) if with_logits else rows

    def activate(self, raw: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """tanh on scalar spans, Gumbel-softmax on one-hot spans, then the implications."""
        rows = self._spans_activated(raw, generator)
        ones = rows.new_ones(rows.shape[0], 1)
        for n in range(self._batches):
            # Each consequence is pulled toward its value by its premise's probability:
            # differentiable, so G learns the rest of the row under the implication (decoding
            # makes it exact). Premises are products of one-hot entries (padded with a 1).
            p = torch.cat([rows, ones], dim=1)[:, getattr(self, f"_premise{n}")].prod(dim=2)
            # A value several rules write is pulled by 1 - prod(1 - p) (padded with p = 0).
            stay = torch.cat([1 - p, ones], dim=1)[:, getattr(self, f"_writers{n}")].prod(dim=2)
            pull = 1 - stay
            rows = rows * (1 - pull @ getattr(self, f"_span{n}")) + pull @ getattr(
                self, f"_value{n}"
            )
        return rows

    def _spans_activated(
        self, raw: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """softmax((logits + Gumbel noise) / tau) on every one-hot span at once (a segmented
        softmax: one span at a time took half of a training step on acs12's 19 spans); each
        span's noise is drawn in turn from `generator`, so rows are reproducible."""
        n, soft, seg = raw.shape[0], self._soft, self._segment
        out = torch.tanh(raw)
        if not len(soft):
            return out
        u = torch.cat([torch.rand((n, w), generator=generator) for w in self._soft_widths], 1)
        gumbel = -torch.log(-torch.log(u.to(raw.device, raw.dtype).clamp(1e-10, 1 - 1e-7)))
        x = (raw[:, soft] + gumbel) / self.tau
        index = seg.expand(n, -1)
        top = x.new_full((n, len(self._soft_widths)), float("-inf"))
        top = top.scatter_reduce(1, index, x, "amax").detach()  # softmax ignores the shift
        e = torch.exp(x - top.gather(1, index))
        total = e.new_zeros(top.shape).index_add(1, seg, e)
        return out.index_copy(1, soft, e / total.gather(1, index))

    def _plan(self, widths: list[int]) -> int:
        """The implications as batches of index and mask buffers (not in the state dict)."""
        starts = [sum(widths[:k]) for k in range(len(widths))]
        width = sum(widths)
        batches = layers(self.implications)
        for n, (premises, written, writers) in enumerate(batches):
            cols = [[starts[s] + i for s, i in p] for p in premises]
            longest = max(len(c) for c in cols)
            premise = torch.tensor([c + [width] * (longest - len(c)) for c in cols])
            most = max(len(w) for w in writers)
            fill = len(premises)  # the padding column of p
            writer = torch.tensor([w + [fill] * (most - len(w)) for w in writers])
            span, value = torch.zeros(len(written), width), torch.zeros(len(written), width)
            for g, (s, i) in enumerate(written):
                span[g, starts[s] : starts[s] + widths[s]] = 1.0
                value[g, starts[s] + i] = 1.0
            for name, t in (("premise", premise), ("writers", writer), ("span", span),
                            ("value", value)):  # fmt: skip
                self.register_buffer(f"_{name}{n}", t, persistent=False)
        return len(batches)


class PacDiscriminator(nn.Module):
    """Rows [N, row_dim] (+ cond) -> one logit per pack of `pac` consecutive rows [N / pac].
    With `label` (start, width, hidden) of the label's one-hot in the row, it also holds an
    auxiliary classifier (CTAB-GAN) of each row's label from its other columns."""

    def __init__(
        self, row_dim: int, cond_dim: int = 0, pac: int = 10, hidden: Sequence[int] = (256, 256),
        dropout: float = 0.5, label: Sequence[int] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.pac, self.cond_dim = pac, cond_dim
        self.label = tuple(label) if label else None
        if self.label:
            start, width, size = self.label
            keep = torch.ones(row_dim)
            keep[start : start + width] = 0  # the classifier must not see the label it predicts
            self.register_buffer("keep", keep, persistent=False)
            self.classifier = nn.Sequential(
                nn.Linear(row_dim, size), nn.LeakyReLU(0.2), nn.Linear(size, size),
                nn.LeakyReLU(0.2), nn.Linear(size, width),
            )  # fmt: skip
        layers: list[nn.Module] = []
        dim = (row_dim + cond_dim) * pac
        for width in hidden:
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            dim = width
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(
        self, rows: torch.Tensor, cond: torch.Tensor | None = None, classify: bool = False
    ) -> torch.Tensor:
        """Logits [N / pac] (N a multiple of pac); with classify, label logits [N, width]
        (through forward, so DDP sees every call)."""
        if classify:
            if not self.label:
                raise ValueError("this discriminator has no label classifier")
            return self.classifier(rows * self.keep)
        if rows.shape[0] % self.pac:
            raise ValueError(
                f"PacGAN needs a batch divisible by pac={self.pac}, got {rows.shape[0]}"
            )
        x = torch.cat([rows, cond], dim=1) if self.cond_dim else rows
        return self.net(x.reshape(rows.shape[0] // self.pac, -1)).squeeze(1)


ARCHITECTURES = ("ctgan",)
# Keys every table model config carries: the encoded row's spans instead of an image shape.
REQUIRED_KEYS = ("architecture", "z_dim", "g_channels", "d_channels", "spans", "cond_dim", "pac")


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """CTGAN's residual-MLP generator for a table model config."""
    spans = [(a, int(w)) for a, w in cfg["spans"]]
    width = cfg["g_channels"]
    implications = cfg.get("implications", [])  # none in exports made before them
    return TabularGenerator(
        cfg["z_dim"], spans, cfg["cond_dim"], (width, width), implications=implications
    )


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """CTGAN's PacGAN discriminator for a table model config."""
    row_dim = sum(int(w) for _, w in cfg["spans"])
    width = cfg["d_channels"]
    label = cfg.get("aux_label")  # [start, width] of the label's one-hot, or None
    return PacDiscriminator(
        row_dim, cfg["cond_dim"], cfg["pac"], (width, width),
        label=[*label, width] if label else None,
    )  # fmt: skip

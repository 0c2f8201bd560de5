"""Sequence G and D from a plain model config: a recurrent pair (GRU G, bidirectional GRU D) and
a temporal-conv pair (1-D convolutions, WaveGAN-style).

A sequence travels as [N, T, C + 1]: C channels scaled to [-1, 1] and zero after the
sequence's end, then a mask channel (1 while the sequence lasts). G generates the length as a
per-step "goes on" probability whose running product is the mask (DoppelGANger's generation
flags, made monotone), hardened to 0/1 on the way forward so D sees masks like the real ones,
with the soft mask's gradient on the way back (straight-through).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from ganmodels.image.layers import ProjectionHead, check_labels

ARCHITECTURES = ("rnn", "tcn")
REQUIRED_KEYS = ("architecture", "z_dim", "seq_len", "features", "g_channels", "d_channels")
STEP_NOISE = 4  # per-step noise dims of the recurrent G (beside z_dim of static noise)


def length_mask(go_on: torch.Tensor, min_length: int) -> torch.Tensor:
    """Per-step logits [N, T] -> a monotone 0/1 mask [N, T] (straight-through), at least
    min_length steps long."""
    soft = torch.cumprod(torch.sigmoid(go_on), dim=1)
    if min_length:
        keep = torch.zeros_like(soft)
        keep[:, :min_length] = 1.0
        soft = torch.maximum(soft, keep)  # the first steps always exist
    hard = (soft > 0.5).to(soft.dtype)
    return hard + soft - soft.detach()


def _finish(
    values: torch.Tensor, go_on: torch.Tensor, min_length: int, fixed: bool
) -> torch.Tensor:
    """Channels [N, T, C] and step logits [N, T] -> [N, T, C + 1] (masked channels, mask)."""
    # Fixed length: every sequence lasts T steps, no length to learn (logits kept in the graph).
    mask = torch.ones_like(go_on) + 0.0 * go_on if fixed else length_mask(go_on, min_length)
    return torch.cat([torch.tanh(values) * mask[..., None], mask[..., None]], dim=2)


class RecurrentGenerator(nn.Module):
    """z [N, z_dim + T * STEP_NOISE] (+ labels) -> sequences [N, T, C + 1] (see the module)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.seq_len, self.features = int(cfg["seq_len"]), int(cfg["features"])
        self.static_dim, self.num_classes = int(cfg["z_dim"]), int(cfg.get("num_classes", 0))
        self.min_length = int(cfg.get("min_length", self.seq_len))
        self.z_dim = self.static_dim + self.seq_len * STEP_NOISE
        width = int(cfg["g_channels"])
        self.embed = nn.Embedding(self.num_classes, self.static_dim) if self.num_classes else None
        self.start = nn.Linear(self.static_dim, 2 * width)  # the GRU's initial states
        self.inputs = nn.Linear(self.static_dim + STEP_NOISE, width)
        self.rnn = nn.GRU(width, width, num_layers=2, batch_first=True)
        self.out = nn.Linear(width, self.features + 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences of the latents (and labels)."""
        check_labels(y, self.num_classes)
        static, steps = z[:, : self.static_dim], z[:, self.static_dim :]
        if self.embed is not None:
            static = static + self.embed(y)
        n, t = z.shape[0], self.seq_len
        h0 = torch.tanh(self.start(static)).view(n, 2, -1).transpose(0, 1).contiguous()
        per_step = torch.cat(
            [static[:, None, :].expand(n, t, -1), steps.reshape(n, t, STEP_NOISE)], dim=2
        )
        h, _ = self.rnn(F.leaky_relu(self.inputs(per_step), 0.2), h0)
        out = self.out(h)
        fixed = self.min_length >= self.seq_len
        return _finish(out[..., : self.features], out[..., -1], self.min_length, fixed)


def _pooled(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean and max over the steps a sequence lasts: [N, T, F] -> [N, 2F]."""
    m = mask[..., None]
    mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
    top = (h - 1e4 * (1 - m)).amax(1)
    return torch.cat([mean, top], dim=1)


class RecurrentDiscriminator(nn.Module):
    """Sequences [N, T, C + 1] (+ labels) -> logits [N]: a bidirectional GRU, pooled over the
    sequence's steps, with a projection head."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        width, self.num_classes = int(cfg["d_channels"]), int(cfg.get("num_classes", 0))
        self.rnn = nn.GRU(int(cfg["features"]) + 1, width, batch_first=True, bidirectional=True)
        self.head = ProjectionHead(4 * width, self.num_classes)
        if cfg.get("spectral_norm"):
            spectral_norm(self.head.linear)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sequence."""
        check_labels(y, self.num_classes)
        h, _ = self.rnn(x)
        return self.head(_pooled(h, x[..., -1]), y)


class ConvGenerator(nn.Module):
    """z [N, z_dim] (+ labels) -> sequences [N, T, C + 1]: a linear seed of T/8 steps, three
    nearest-upsampling 1-D conv blocks (WaveGAN without its checkerboard), cropped to T."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.seq_len, self.features = int(cfg["seq_len"]), int(cfg["features"])
        self.z_dim, self.num_classes = int(cfg["z_dim"]), int(cfg.get("num_classes", 0))
        self.min_length = int(cfg.get("min_length", self.seq_len))
        width = int(cfg["g_channels"])
        self.seed_len = -(-self.seq_len // 8)
        self.embed = nn.Embedding(self.num_classes, self.z_dim) if self.num_classes else None
        self.seed = nn.Linear(self.z_dim, width * self.seed_len)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv1d(width, width, 5, padding=2),
                nn.BatchNorm1d(width),
                nn.LeakyReLU(0.2),
            )
            for _ in range(3)
        )
        self.out = nn.Conv1d(width, self.features + 1, 5, padding=2)
        self.width = width

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences of the latents (and labels)."""
        check_labels(y, self.num_classes)
        if self.embed is not None:
            z = z + self.embed(y)
        h = F.leaky_relu(self.seed(z), 0.2).view(z.shape[0], self.width, self.seed_len)
        for block in self.blocks:
            h = block(h)
        out = self.out(h)[:, :, : self.seq_len].transpose(1, 2)
        fixed = self.min_length >= self.seq_len
        return _finish(out[..., : self.features], out[..., -1], self.min_length, fixed)


class ConvDiscriminator(nn.Module):
    """Sequences [N, T, C + 1] (+ labels) -> logits [N]: strided 1-D convs, pooled over the
    sequence's steps, with a projection head."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        width, self.num_classes = int(cfg["d_channels"]), int(cfg.get("num_classes", 0))
        sn = spectral_norm if cfg.get("spectral_norm") else (lambda m: m)
        chans = [int(cfg["features"]) + 1, width, width, width]
        self.convs = nn.ModuleList(
            sn(nn.Conv1d(a, b, 5, stride=2, padding=2))
            for a, b in zip(chans, chans[1:], strict=False)
        )
        self.head = ProjectionHead(2 * width, self.num_classes)
        if cfg.get("spectral_norm"):
            spectral_norm(self.head.linear)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per sequence."""
        check_labels(y, self.num_classes)
        h, mask = x.transpose(1, 2), x[..., -1]
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            mask = F.max_pool1d(mask[:, None], 5, stride=2, padding=2)[:, 0]  # steps it saw
        return self.head(_pooled(h.transpose(1, 2), mask[:, : h.shape[2]]), y)


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    """Generator for a sequence model config."""
    return RecurrentGenerator(cfg) if cfg["architecture"] == "rnn" else ConvGenerator(cfg)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for a sequence model config."""
    return RecurrentDiscriminator(cfg) if cfg["architecture"] == "rnn" else ConvDiscriminator(cfg)

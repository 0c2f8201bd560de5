"""Sequence G and D from a plain model config: a recurrent pair (GRU G, bidirectional GRU D) and
a temporal-conv pair (1-D convolutions, WaveGAN-style).

A sequence travels as [N, T, C + 1]: C channels scaled to [-1, 1] and zero after the
sequence's end, then a mask channel (1 while the sequence lasts). G draws each length from the
train split's length distribution (per class for a conditional G) by its first latent, as the
quantile of Phi(z_0), and shapes its sequence to it: D cannot tell sequences apart by their
lengths alone. (Lengths learnt as generation flags, DoppelGANger's way, through a
straight-through mask, came out far from the real ones on JapaneseVowels: D won by them.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from ganmodels.image.layers import ProjectionHead, check_labels
from ganmodels.sequence.derived import DerivedChannels
from ganmodels.sequence.statics import static_channels

ARCHITECTURES = ("rnn", "tcn")
REQUIRED_KEYS = ("architecture", "z_dim", "seq_len", "features", "g_channels", "d_channels")


def step_noise(cfg: dict[str, Any]) -> int:
    """Per-step noise dims of G beside z_dim of static noise (model_config sets them; a
    config without the key predates it: 4 for rnn, none for tcn)."""
    return int(cfg.get("step_noise", 4 if cfg["architecture"] == "rnn" else 0))


class Lengths(nn.Module):
    """Sequence lengths [N] from the first latent (and labels): the Phi(z_0)-quantile of the
    train split's length counts (config "length_counts": [K or 1][T + 1])."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        t = int(cfg["seq_len"])
        counts = torch.tensor(cfg.get("length_counts") or [[0] * t + [1]], dtype=torch.float64)
        cdf = counts.cumsum(1) / counts.sum(1, keepdim=True)
        self.register_buffer("cdf", cdf.float(), persistent=False)  # rebuilt from the config

    def forward(self, z0: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Each sequence's length in 1..T."""
        u = (0.5 * (1 + torch.erf(z0 / 2**0.5))).clamp(0, 1 - 1e-6)
        table = self.cdf[y] if y is not None and len(self.cdf) > 1 else self.cdf[:1]
        return (table <= u[:, None]).sum(1).clamp(1, self.cdf.shape[1] - 1)


def smoothed(values: torch.Tensor, passes: int) -> torch.Tensor:
    """[N, T, C] through `passes` of a fixed [1, 2, 1] / 4 filter over time, ends repeated: for
    smooth signals (sines), whose exact smoothness a network's step-to-step jitter gives away.
    A variable-length sequence's last steps mix in the (masked) values past its end."""
    for _ in range(passes):
        padded = torch.cat([values[:, :1], values, values[:, -1:]], dim=1)
        values = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    return values


def polynomial_projection(steps: int, terms: int) -> torch.Tensor:
    """[T, T] projection onto the polynomials of degree < `terms` over T steps (0 or terms >= T:
    the identity). A G whose output passes through it makes exactly smooth curves, without a
    recurrent state's start-up jitter (Diffusion-TS's trend is such a basis). Polynomials, not
    low DCT frequencies: a cut cosine series rings near the ends of a non-periodic arc."""
    if terms <= 0 or terms >= steps:
        return torch.eye(steps)
    grid = np.linspace(-1.0, 1.0, steps)
    basis, _ = np.linalg.qr(np.polynomial.legendre.legvander(grid, terms - 1))
    return torch.from_numpy(basis @ basis.T).float()


class Polynomial(nn.Module):
    """[N, T, C] -> its projection onto the config's "polynomial" lowest-degree polynomials."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.terms = int(cfg.get("polynomial") or 0)
        projection = polynomial_projection(int(cfg["seq_len"]), self.terms)
        self.register_buffer("projection", projection, persistent=False)  # from the config

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Values projected over time (unchanged when the config keeps every degree)."""
        if not 0 < self.terms < values.shape[1]:
            return values
        return torch.einsum("ts,nsc->ntc", self.projection.to(values.dtype), values)


def finished(
    values: torch.Tensor,
    length: torch.Tensor,
    constant: list[int],
    derived: DerivedChannels,
    squash: bool = True,
) -> torch.Tensor:
    """Channels [N, T, C] and lengths [N] -> [N, T, C + 1] (masked channels, mask) through a
    tanh unless not `squash`; the `constant` channels (static columns) hold their mean over
    the sequence's steps and the derived ones follow their sources."""
    steps = torch.arange(values.shape[1], device=values.device)
    mask = (steps[None, :] < length[:, None]).to(values.dtype)
    if constant:
        fixed = values[..., constant]
        mean = (fixed * mask[..., None]).sum(1, keepdim=True) / length[:, None, None]
        values = values.clone()
        values[..., constant] = mean.expand_as(fixed)
    values = torch.tanh(values) if squash else values
    return torch.cat([derived(values) * mask[..., None], mask[..., None]], dim=2)


class RecurrentGenerator(nn.Module):
    """z [N, z_dim + T * step_noise] (+ labels) -> sequences [N, T, C + 1] (see the module)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.seq_len, self.features = int(cfg["seq_len"]), int(cfg["features"])
        self.static_dim, self.num_classes = int(cfg["z_dim"]), int(cfg.get("num_classes", 0))
        self.noise = step_noise(cfg)
        self.z_dim = self.static_dim + self.seq_len * self.noise
        self.smoothing = int(cfg.get("smoothing", 0))
        self.polynomial = Polynomial(cfg)
        self.constant = static_channels(cfg.get("statics") or [])
        self.derived = DerivedChannels(cfg.get("derived") or [])
        self.lengths = Lengths(cfg)
        width = int(cfg["g_channels"])
        self.embed = nn.Embedding(self.num_classes, self.static_dim) if self.num_classes else None
        self.start = nn.Linear(self.static_dim, 2 * width)  # the GRU's initial states
        self.inputs = nn.Linear(self.static_dim + self.noise + 1, width)
        self.rnn = nn.GRU(width, width, num_layers=2, batch_first=True)
        self.out = nn.Linear(width, self.features)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences of the latents (and labels)."""
        check_labels(y, self.num_classes)
        static, steps = z[:, : self.static_dim], z[:, self.static_dim :]
        if self.embed is not None:
            static = static + self.embed(y)
        n, t = z.shape[0], self.seq_len
        length = self.lengths(z[:, 0], y)
        # Each step knows how much of its sequence is left (the RNN shapes the ending).
        left = (length[:, None] - torch.arange(t, device=z.device)[None, :]).clamp_min(0) / t
        h0 = torch.tanh(self.start(static)).view(n, 2, -1).transpose(0, 1).contiguous()
        per_step = [static[:, None, :].expand(n, t, -1), steps.reshape(n, t, self.noise)]
        per_step.append(left[..., None].to(z.dtype))
        h, _ = self.rnn(F.leaky_relu(self.inputs(torch.cat(per_step, dim=2)), 0.2), h0)
        values = smoothed(self.polynomial(self.out(h)), self.smoothing)
        return finished(values, length, self.constant, self.derived)


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
    """z [N, z_dim + T * step_noise] (+ labels) -> sequences [N, T, C + 1]: a linear seed of
    T/8 steps, three nearest-upsampling 1-D conv blocks (WaveGAN without its checkerboard),
    cropped to T, then per-step noise joins an output block."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.seq_len, self.features = int(cfg["seq_len"]), int(cfg["features"])
        self.static_dim, self.num_classes = int(cfg["z_dim"]), int(cfg.get("num_classes", 0))
        self.noise = step_noise(cfg)
        self.z_dim = self.static_dim + self.seq_len * self.noise
        self.smoothing = int(cfg.get("smoothing", 0))
        self.polynomial = Polynomial(cfg)
        self.constant = static_channels(cfg.get("statics") or [])
        self.derived = DerivedChannels(cfg.get("derived") or [])
        self.lengths = Lengths(cfg)
        width = int(cfg["g_channels"])
        self.seed_len = -(-self.seq_len // 8)
        self.embed = nn.Embedding(self.num_classes, self.static_dim) if self.num_classes else None
        self.seed = nn.Linear(self.static_dim, width * self.seed_len)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv1d(width, width, 5, padding=2),
                nn.BatchNorm1d(width),
                nn.LeakyReLU(0.2),
            )
            for _ in range(3)
        )
        if self.noise:  # upsampled features are smooth: white noise needs its own path out
            self.out = nn.Sequential(
                nn.Conv1d(width + self.noise, width, 5, padding=2),
                nn.LeakyReLU(0.2),
                nn.Conv1d(width, self.features, 1),
            )
        else:
            self.out = nn.Conv1d(width, self.features, 5, padding=2)
        self.width = width

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences of the latents (and labels)."""
        check_labels(y, self.num_classes)
        static, steps = z[:, : self.static_dim], z[:, self.static_dim :]
        length = self.lengths(z[:, 0], y)
        if self.embed is not None:
            static = static + self.embed(y)
        n = z.shape[0]
        h = F.leaky_relu(self.seed(static), 0.2).view(n, self.width, self.seed_len)
        for block in self.blocks:
            h = block(h)
        if self.noise:
            noise = steps.reshape(n, self.noise, -1)
            h = torch.cat([h[:, :, : self.seq_len], noise], dim=1)
        values = self.polynomial(self.out(h)[:, :, : self.seq_len].transpose(1, 2))
        values = smoothed(values, self.smoothing)
        return finished(values, length, self.constant, self.derived)


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
    """Generator for a sequence model config (model.oscillators: an oscillator bank)."""
    if cfg.get("oscillators"):
        from ganmodels.sequence.oscillators import OscillatorGenerator  # it imports this module

        return OscillatorGenerator(cfg)
    return RecurrentGenerator(cfg) if cfg["architecture"] == "rnn" else ConvGenerator(cfg)


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    """Discriminator for a sequence model config."""
    return RecurrentDiscriminator(cfg) if cfg["architecture"] == "rnn" else ConvDiscriminator(cfg)

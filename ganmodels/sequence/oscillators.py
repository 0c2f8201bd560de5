"""An oscillator-bank G for sequences (model.oscillators: K): each channel of a sequence is a
line plus K sinusoids, b + c * s + sum_k a_k sin(w_k t + phi_k), whose parameters an MLP draws
from z (and the label): DDSP's oscillators, static per sequence. For signals made of a few
periodic parts: its curves are exactly smooth and exactly periodic, with no recurrent state's
start-up and no squashing near the data's bounds (a tanh bends curves that reach them)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ganmodels.image.layers import check_labels
from ganmodels.sequence.derived import DerivedChannels
from ganmodels.sequence.nets import Lengths, finished
from ganmodels.sequence.statics import static_channels

SLOW = 3.0  # frequencies start near pi * sigmoid(-3), a period of about 40 steps, not 4
SHARP = 20.0  # the bound's softness: it bends curves within about 0.1 of -1 and 1, not more


def soft_bound(x: torch.Tensor) -> torch.Tensor:
    """x inside [-1, 1] (the data's scaled range) as itself, beyond it eased back toward the
    bound with a gradient that fades over about 0.2 past it, where a clamp's stops at once
    (the sampler clamps what G makes: an overshoot G never felt comes out as a flat run)."""
    return x - F.softplus(SHARP * (x - 1)) / SHARP + F.softplus(-SHARP * (x + 1)) / SHARP


class OscillatorGenerator(nn.Module):
    """z [N, z_dim] (+ labels) -> sequences [N, T, C + 1] (see the module)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.seq_len, self.features = int(cfg["seq_len"]), int(cfg["features"])
        self.z_dim, self.num_classes = int(cfg["z_dim"]), int(cfg.get("num_classes", 0))
        self.oscillators, self.noise, self.smoothing = int(cfg["oscillators"]), 0, 0
        self.constant = static_channels(cfg.get("statics") or [])
        self.derived = DerivedChannels(cfg.get("derived") or [])
        self.lengths = Lengths(cfg)
        width = int(cfg["g_channels"])
        self.embed = nn.Embedding(self.num_classes, self.z_dim) if self.num_classes else None
        self.net = nn.Sequential(
            nn.Linear(self.z_dim, width),
            nn.LeakyReLU(0.2),
            nn.Linear(width, width),
            nn.LeakyReLU(0.2),
            nn.Linear(width, self.features * (2 + 3 * self.oscillators)),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Sequences of the latents (and labels)."""
        check_labels(y, self.num_classes)
        static = z[:, : self.z_dim] if self.embed is None else z[:, : self.z_dim] + self.embed(y)
        length = self.lengths(z[:, 0], y)
        n, k, t = z.shape[0], self.oscillators, self.seq_len
        p = self.net(static).view(n, self.features, 2 + 3 * k, 1)
        amplitude = F.softplus(p[:, :, 2 : 2 + k])
        frequency = math.pi * torch.sigmoid(p[:, :, 2 + k : 2 + 2 * k] - SLOW)
        phase = math.pi * torch.tanh(p[:, :, 2 + 2 * k :])
        steps = torch.arange(t, device=z.device, dtype=z.dtype)
        waves = (amplitude * torch.sin(frequency * steps + phase)).sum(2)  # [N, C, T]
        line = p[:, :, 0] + p[:, :, 1] * torch.linspace(-1, 1, t, device=z.device)
        values = soft_bound(line + waves).transpose(1, 2)
        return finished(values, length, self.constant, self.derived, squash=False)

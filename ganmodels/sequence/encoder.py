"""The sequence encoder whose features define FD for sequences: a 2-layer GRU trained on the
train split to tell the classes apart (labelled data) or to predict each next step (unlabelled);
its features are the last step's hidden state beside the mean over the sequence's steps."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

BATCH = 64
LR = 2e-3


class SequenceEncoder(nn.Module):
    """Model-space sequences [N, T, C + 1] -> features [N, 2 * width] (and a head to train)."""

    def __init__(self, channels: int, width: int, num_classes: int) -> None:
        super().__init__()
        self.config = {"channels": channels, "width": width, "num_classes": num_classes}
        self.rnn = nn.GRU(channels + 1, width, num_layers=2, batch_first=True)
        # Classes from the features, or (no labels) every next step from each step's state.
        self.head = nn.Linear(2 * width if num_classes else width, num_classes or channels)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states [N, T, width]."""
        return self.rnn(x)[0]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 2 * width]: the state at each sequence's last step and the mean over its steps."""
        h, mask = self.states(x), x[..., -1:]
        last = h[torch.arange(len(x)), (mask[..., 0].sum(1).long() - 1).clamp_min(0)]
        return torch.cat([last, (h * mask).sum(1) / mask.sum(1).clamp_min(1.0)], dim=1)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Cross-entropy of the class, or the masked MAE of each next step."""
        if self.config["num_classes"]:
            return F.cross_entropy(self.head(self.features(x)), y)
        pred = self.head(self.states(x[:, :-1]))
        mask = x[:, 1:, -1:]
        return ((pred - x[:, 1:, :-1]).abs() * mask).sum() / (mask.sum() * pred.shape[2]).clamp_min(
            1
        )


def fit_encoder(
    x: torch.Tensor, y: torch.Tensor | None, num_classes: int, width: int, epochs: int, seed: int
) -> tuple[SequenceEncoder, float]:
    """An encoder trained for `epochs` passes over (x, y); (it, its last epoch's mean loss)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = SequenceEncoder(x.shape[2] - 1, width, num_classes)
        opt = torch.optim.Adam(enc.parameters(), lr=LR)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            losses = []
            for rows in torch.randperm(len(x), generator=gen).split(BATCH):
                opt.zero_grad(set_to_none=True)
                loss = enc.loss(x[rows], None if y is None else y[rows])
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
    return enc.eval(), sum(losses) / len(losses)


@torch.no_grad()
def encode(enc: SequenceEncoder, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Features of x in batches."""
    return torch.cat([enc.features(x[i : i + batch]) for i in range(0, len(x), batch)])


def encoder_from_state(state: dict[str, Any]) -> SequenceEncoder:
    """Rebuild a saved encoder ({'config', 'state_dict'}) in eval mode."""
    c = state["config"]
    enc = SequenceEncoder(int(c["channels"]), int(c["width"]), int(c["num_classes"]))
    enc.load_state_dict(state["state_dict"])
    return enc.eval()

"""Sequence metric math on model-space tensors [N, T, C + 1] (scaled channels, mask last).

TimeGAN's protocol (Yoon et al. 2019): the discriminative score trains a post-hoc GRU to tell
real from synthetic sequences and reports |accuracy - 0.5| on held-out pairs (0 is best); the
predictive score trains a GRU on synthetic sequences to predict the next step and reports its
mean absolute error on real ones (train on synthetic, test on real). Beside them: TSTR
classification accuracy, autocorrelation and cross-channel correlation errors, and the
distance between length distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class PostHoc:
    """The post-hoc GRUs' size and training (TimeGAN's published ones: 1 layer of C // 2
    units, Adam, batch 128; its iterations are 2,000 and 5,000)."""

    steps: int = 600
    layers: int = 2
    hidden: int = 0  # 0: max(16, C)
    batch: int = 128
    lr: float = 1e-3
    squash: bool = False  # predictions through a sigmoid (TimeGAN's predictor, data in [0, 1])
    max_steps: int = 0  # longer sequences are mean-pooled to at most this many steps (0: never)

    def width(self, channels: int) -> int:
        """Hidden units for data of `channels` channels."""
        return self.hidden or max(16, channels)


class _GRU(nn.Module):
    """A GRU and a linear head, per step or at each sequence's last step."""

    def __init__(self, inputs: int, hidden: int, layers: int, outputs: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor, last: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.rnn(x)
        if last is None:
            return self.head(h)
        return self.head(h[torch.arange(len(x)), last])


def _last(x: torch.Tensor) -> torch.Tensor:
    """Index of each sequence's last step."""
    return (x[..., -1].sum(1).long() - 1).clamp_min(0)


def _fit(net: nn.Module, loss_of: object, n: int, spec: PostHoc, seed: int) -> nn.Module:
    """Adam on random minibatches of n rows: loss_of(rows) -> scalar."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=spec.lr)
    for _ in range(spec.steps):
        rows = torch.randint(0, n, (min(spec.batch, n),), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss_of(rows).backward()  # type: ignore[operator]
        opt.step()
    return net.eval()


def discriminative(
    real: torch.Tensor, fake: torch.Tensor, spec: PostHoc, seed: int
) -> tuple[float, float]:
    """(|accuracy - 0.5|, accuracy) of a post-hoc GRU on a held-out 20% of each set (the
    sets cut to equal size)."""
    torch.manual_seed(seed)
    real, fake = pooled(real, spec.max_steps), pooled(fake, spec.max_steps)
    n = min(len(real), len(fake))
    gen = torch.Generator().manual_seed(seed)
    pick = [s[torch.randperm(len(s), generator=gen)[:n]] for s in (real, fake)]
    cut = max(1, round(0.8 * n))
    train = torch.cat([pick[0][:cut], pick[1][:cut]])
    test = torch.cat([pick[0][cut:], pick[1][cut:]])
    y_train = torch.cat([torch.ones(cut), torch.zeros(cut)])
    y_test = torch.cat([torch.ones(n - cut), torch.zeros(n - cut)])
    net = _GRU(real.shape[2], spec.width(real.shape[2] - 1), spec.layers, 1)

    def loss(rows: torch.Tensor) -> torch.Tensor:
        x = train[rows]
        return F.binary_cross_entropy_with_logits(net(x, _last(x))[:, 0], y_train[rows])

    _fit(net, loss, len(train), spec, seed)
    with torch.no_grad():
        accuracy = float(((net(test, _last(test))[:, 0] > 0).float() == y_test).float().mean())
    return abs(accuracy - 0.5), accuracy


def predictive(
    train: torch.Tensor, test: torch.Tensor, spec: PostHoc, seed: int, last_channel: bool = False
) -> float:
    """MAE on `test` of a GRU trained on `train` to predict each next step from the steps so
    far: every channel, or (TimeGAN's) the last channel from the others."""
    torch.manual_seed(seed)
    train, test = pooled(train, spec.max_steps), pooled(test, spec.max_steps)
    c = train.shape[2] - 1
    ins = slice(0, c - 1) if last_channel else slice(0, c)
    outs = slice(c - 1, c) if last_channel else slice(0, c)
    net = _GRU(ins.stop - ins.start, spec.width(c), spec.layers, outs.stop - outs.start)

    def error(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Absolute errors at every next step that exists, and how many there are."""
        pred = net(x[:, :-1, ins])
        pred = torch.sigmoid(pred) if spec.squash else pred
        mask = x[:, 1:, -1:]
        return ((pred - x[:, 1:, outs]).abs() * mask).sum(), mask.sum() * (outs.stop - outs.start)

    def loss(rows: torch.Tensor) -> torch.Tensor:
        total, count = error(train[rows])
        return total / count.clamp_min(1.0)

    _fit(net, loss, len(train), spec, seed)
    with torch.no_grad():
        total, count = error(test)
    return float(total / count.clamp_min(1.0))


def classification(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    num_classes: int,
    spec: PostHoc,
    seed: int,
) -> float:
    """Accuracy on `test` of a GRU classifier trained on `train` (TSTR when train is synthetic)."""
    guess = predictions(train, train_labels, test, num_classes, spec, seed)
    return float((guess == test_labels).float().mean())


def predictions(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    num_classes: int,
    spec: PostHoc,
    seed: int,
) -> torch.Tensor:
    """The classes a GRU classifier trained on `train` gives the `test` sequences."""
    torch.manual_seed(seed)
    train, test = pooled(train, spec.max_steps), pooled(test, spec.max_steps)
    net = _GRU(train.shape[2], spec.width(train.shape[2] - 1), spec.layers, num_classes)

    def loss(rows: torch.Tensor) -> torch.Tensor:
        x = train[rows]
        return F.cross_entropy(net(x, _last(x)), train_labels[rows])

    _fit(net, loss, len(train), spec, seed)
    with torch.no_grad():
        return net(test, _last(test)).argmax(1)


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean over sequences of each channel's autocorrelation at lags 1..max_lag: [C, max_lag]."""
    values, mask = x[..., :-1].astype(np.float64), x[..., -1:] > 0.5
    count = mask.sum(1, keepdims=True).clip(min=1)
    centred = np.where(mask, values - (values * mask).sum(1, keepdims=True) / count, 0.0)
    var = (centred**2).sum(1)  # [N, C]
    out = np.zeros((values.shape[2], max_lag))
    for k in range(1, max_lag + 1):
        cov = (centred[:, k:] * centred[:, :-k]).sum(1)
        out[:, k - 1] = np.mean(np.where(var > 0, cov / np.where(var > 0, var, 1), 0.0), axis=0)
    return out


def correlation(x: np.ndarray) -> np.ndarray:
    """Channels' correlation over every step that exists: [C, C] (0 where a channel is flat)."""
    steps = x[x[..., -1] > 0.5][:, :-1].astype(np.float64)
    centred = steps - steps.mean(0)
    sd = np.sqrt((centred**2).mean(0))
    sd = np.where(sd > 0, sd, np.inf)
    return (centred.T @ centred / len(steps)) / np.outer(sd, sd)


def shape_errors(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """Autocorrelation error (lags 1..min(10, shortest - 1)), cross-channel correlation error
    and the length distributions' distance (Wasserstein-1 over the longest length)."""
    lengths = [s[..., -1].sum(1) for s in (real, fake)]
    lag = int(max(1, min(10, min(length.min() for length in lengths) - 1)))
    c = real.shape[2] - 1
    pairs = np.triu_indices(c, 1)
    corr = np.abs(correlation(real) - correlation(fake))[pairs]
    return {
        "autocorrelation_error": float(
            np.abs(autocorrelation(real, lag) - autocorrelation(fake, lag)).mean()
        ),
        "correlation_error": float(corr.mean()) if len(corr) else 0.0,
        "length_distance": _wasserstein(*lengths) / real.shape[1],
    }


def value_ks(real: np.ndarray, fake: np.ndarray) -> float:
    """Mean two-sample KS distance of each (step, channel)'s values over the sequences that
    have that step, plus that of the lengths: 0 for one distribution, 1 at most per term. A
    cheap score for picking checkpoints (the same for any monotone rescaling of a channel)."""
    from scipy.stats import ks_2samp  # scoring only: serving needs numpy alone

    valid = [s[..., -1] > 0.5 for s in (real, fake)]
    a, b = (np.where(m[..., None], s[..., :-1], np.nan).reshape(len(s), -1)
            for s, m in zip((real, fake), valid, strict=True))  # fmt: skip
    both = ~np.isnan(a).all(0) & ~np.isnan(b).all(0)  # (step, channel)s each side reaches
    values = ks_2samp(a[:, both], b[:, both], axis=0, nan_policy="omit").statistic
    lengths = ks_2samp(valid[0].sum(1), valid[1].sum(1))
    return float((np.mean(values) if both.any() else 1.0) + lengths.statistic)


def _wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two samples (quantile functions on a common grid)."""
    q = np.linspace(0, 1, 201)
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def pooled(x: torch.Tensor, max_steps: int) -> torch.Tensor:
    """Model-space sequences [N, T, C + 1] mean-pooled over windows of ceil(T / max_steps)
    steps (over the steps that exist; a window exists if any of its steps does): what the
    post-hoc GRUs see when T is long. Unchanged when max_steps is 0 or T <= max_steps."""
    k = -(-x.shape[1] // max_steps) if max_steps else 1
    if k <= 1:
        return x
    n, t, c = x.shape
    v = F.pad(x, (0, 0, 0, -(-t // k) * k - t)).reshape(n, -1, k, c)
    mask = v[..., -1:]
    mean = (v[..., :-1] * mask).sum(2) / mask.sum(2).clamp_min(1)
    return torch.cat([mean, mask.amax(2)], dim=2)


def shuffled_steps(x: np.ndarray, seed: int) -> np.ndarray:
    """The trivial baseline: each step's vector swapped among the sequences that have that step
    (per-step marginals and lengths kept, every temporal relation broken)."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    for t in range(x.shape[1]):
        rows = np.flatnonzero(x[:, t, -1] > 0.5)
        out[rows, t] = x[rng.permutation(rows), t]
    return out

"""GAN objectives as small functions of discriminator logits; the loop owns backward/step.

Each objective is a (D loss, G loss) pair; `OBJECTIVES` names them for params.yaml.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Classic discriminator loss: -log D(x) - log(1 - D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z)) (strong gradients early in training)."""
    return F.softplus(-fake_logits).mean()


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye 2017; SNGAN, BigGAN): max(0, 1 - D(x)) + max(0, 1 + D(G(z)))."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_loss_critic(fake_logits: torch.Tensor) -> torch.Tensor:
    """-D(G(z)): the generator loss of the hinge and Wasserstein objectives."""
    return -fake_logits.mean()


def d_loss_wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss (Arjovsky et al. 2017); pair it with a gradient penalty."""
    return fake_logits.mean() - real_logits.mean()


def d_loss_least_squares(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN (Mao et al. 2017) with targets 1 (real) and 0 (fake)."""
    return 0.5 * ((real_logits - 1.0).square().mean() + fake_logits.square().mean())


def g_loss_least_squares(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss: fakes pushed to the real target 1."""
    return 0.5 * (fake_logits - 1.0).square().mean()


Loss = Callable[..., torch.Tensor]
OBJECTIVES: dict[str, tuple[Loss, Loss]] = {
    "bce": (d_loss_bce, g_loss_nonsaturating),
    "hinge": (d_loss_hinge, g_loss_critic),
    "wgan": (d_loss_wasserstein, g_loss_critic),
    "lsgan": (d_loss_least_squares, g_loss_least_squares),
}


def flat_views(x: torch.Tensor) -> list[torch.Tensor]:
    """A batch as the one view moment_gap compares by default: every feature of a sample."""
    return [x.flatten(1)]


def moment_gap(
    fake: list[torch.Tensor],
    real: list[torch.Tensor],
    total: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """TimeGAN's moment loss: over views [M, F] of a fake and a real batch, the mean absolute
    gap between their per-feature means plus that between their standard deviations. With
    `total` (a tensor summed over every part of a batch split across processes) the means and
    deviations are the whole batch's, so the loss does not depend on how it is split."""
    stats = _moments if total is None else (lambda x: _whole_batch_moments(x, total))
    gaps = []
    for f, r in zip(fake, real, strict=True):
        (f_mean, f_std), (r_mean, r_std) = stats(f), stats(r)
        gaps.append((f_mean - r_mean).abs().mean() + (f_std - r_std).abs().mean())
    return torch.stack(gaps).sum()


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and (unbiased) standard deviation of one batch [M, F]."""
    return x.mean(0), x.std(0)


def _whole_batch_moments(
    x: torch.Tensor, total: Callable[[torch.Tensor], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and (unbiased) standard deviation of the whole batch that x [M, F] is
    a part of, from its parts' sums (float64: few digits lost to the sum of squares); a
    feature no sample varies in gets 1e-6, where x.std(0) gives 0."""
    wide, k = x.double(), x.shape[1]
    sums = total(torch.cat([wide.sum(0), (wide * wide).sum(0), wide.new_tensor([len(x)])]))
    n, mean = sums[-1], sums[:k] / sums[-1]
    # Clamped above 0: such a feature has no gradient, not NaN (the root's at 0).
    var = ((sums[k : 2 * k] - n * mean * mean) / (n - 1)).clamp_min(1e-12)
    return mean.to(x.dtype), var.sqrt().to(x.dtype)


def decision_threshold(objective: str) -> float:
    """The logit that separates 'real' from 'fake' (LSGAN's targets are 0 and 1)."""
    return 0.5 if objective == "lsgan" else 0.0

"""Gradient regularizers of D, computed out of place so they are correct under DDP.

`autograd.grad(create_graph=True)` takes the input gradient without touching parameter
gradients; the caller then runs one ordinary backward through the (DDP) module, whose
all-reduce hooks fire once per parameter as for any loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-sample ||d D(x) / dx||^2 on reals (Mescheder et al. 2018); real must require grad."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1)


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
    alpha: torch.Tensor | None = None,
    pack: int = 1,
) -> torch.Tensor:
    """Per-sample (||grad D(x_hat)|| - 1)^2 on random interpolates (Gulrajani et al. 2017).

    The mixing weights alpha [N] are drawn on the CPU from `generator` unless given. With
    pack > 1 (PacGAN) the norm is taken per pack of `pack` consecutive samples, as D sees them.
    """
    if alpha is None:
        alpha = torch.rand(real.shape[0], generator=generator)
    alpha = alpha.view(-1, *([1] * (real.dim() - 1))).to(real.device, real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.reshape(grad.shape[0] // pack, -1).norm(dim=1) - 1.0).square()

"""Sums across the ranks of a DDP process group that gradients flow through (SyncBatchNorm's
way): what a loss of the whole global batch's statistics needs, such as the moment loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist


class _SumOverRanks(torch.autograd.Function):
    """Forward: the tensor summed over every rank. Backward: the gradient summed likewise,
    since every rank computes the same loss of the sum and DDP averages the ranks' gradients:
    each rank's part gets exactly the gradient one process would give it."""

    @staticmethod
    def forward(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        out = t.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def summed_over_ranks() -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A sum over the process group's ranks with gradients (for a model that DDP wraps, whose
    gradients it averages); None in a single process."""
    several = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    return _SumOverRanks.apply if several else None

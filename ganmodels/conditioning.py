"""What a generator is conditioned on during training, and the G loss that goes with it.

The training step (pipeline/phases.py) asks its kind's conditioning for the condition of each
batch of fakes and for G's loss; it never looks at the kind itself. Class labels (or none) are
here; tables condition on discrete columns (ganmodels/tabular/conditions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn

Loss = Callable[[torch.Tensor], torch.Tensor]


class Conditioning(Protocol):
    """Conditions for fakes and G's loss under them."""

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor | None, Any]:
        """The condition of n fakes (on the CPU; None: unconditional) and what it asks for."""
        ...

    def generator_loss(
        self,
        G: nn.Module,
        D: nn.Module,
        z: torch.Tensor,
        y: torch.Tensor | None,
        asked: Any,
        adversarial: Loss,
        augment: Callable[[torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """G's loss for latents z under condition y (asked: what sample() said of it) and the
        fakes it was taken on."""
        ...

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor) -> torch.Tensor | None:
        """A term D's loss adds on real rows (an auxiliary classifier's), or None."""
        ...


class ClassLabels:
    """Class-conditional G (uniform random labels), or no condition when num_classes is 0."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor | None, Any]:
        """Uniform labels [n] (None for an unconditional G: no draw from gen)."""
        if not self.num_classes:
            return None, None
        return torch.randint(0, self.num_classes, (n,), generator=gen), None

    def generator_loss(
        self,
        G: nn.Module,
        D: nn.Module,
        z: torch.Tensor,
        y: torch.Tensor | None,
        asked: Any,
        adversarial: Loss,
        augment: Callable[[torch.Tensor], torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The adversarial loss of D on augmented fakes, and the fakes."""
        fake = G(z, y).float()
        return adversarial(D(augment(fake), y).float()), fake

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor) -> torch.Tensor | None:
        """None: class labels add nothing to D's loss (the projection head sees them)."""
        return None

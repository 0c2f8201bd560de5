"""One GAN training step in named phases (D main, D reg, G main, EMA): plain torch, no Ray.
The Ray seam (pipeline/loop.py) wraps G and D in DDP and calls `Phases.step`; the GPU check
script drives the same code under a bare NCCL process group."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganmodels.augment import ada_update, diff_augment
from ganmodels.conditioning import ClassLabels, Conditioning
from ganmodels.ema import update_ema
from ganmodels.losses import OBJECTIVES, decision_threshold, flat_views, moment_gap
from ganmodels.regularizers import gradient_penalty, r1_penalty
from pipeline.collectives import summed_over_ranks
from pipeline.streams import to_device

if TYPE_CHECKING:
    from pipeline.config import TrainConfig

# Metric keys of the stats row `Phases.step` returns (phase names, stylegan2-ada style).
PHASE_KEYS = ("loss/D_main", "loss/D_reg", "loss/G_main", "D/real", "D/fake", "D/accuracy")
PHASES = ("D_main", "D_reg", "G_main")

Batch = tuple[torch.Tensor, torch.Tensor | None]  # images, labels (None if unconditional)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (prepare_model wraps only when world size > 1)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def ddp_buffer_kwargs() -> dict[str, bool]:
    """DDP kwargs that keep buffers rank-local at runtime.

    D runs two forwards (real, fake) before one backward: a buffer broadcast in between bumps
    batch norm's version counter (pytorch#175024). Newer torch renames the flag.
    """
    params = inspect.signature(DistributedDataParallel).parameters
    key = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return {key: False}


@dataclass(frozen=True)
class Recipe:
    """The train keys that shape a step (objective, regularizers, augmentation, precision)."""

    objective: str
    lr_g: float
    lr_d: float
    betas: tuple[float, float]
    d_steps: int
    r1_gamma: float
    r1_interval: int
    gp_weight: float
    ema_decay: float
    augment: tuple[str, ...]
    augment_p: float
    ada_target: float
    ada_interval: int
    ada_speed_images: int
    moment_weight: float = 0.0
    bf16: bool = False
    ema_rampup: bool = True

    @classmethod
    def from_train(cls, t: TrainConfig, bf16: bool = False) -> Recipe:
        """From the train section of params (typed, as workers receive it)."""
        keys = set(cls.__dataclass_fields__) - {"betas", "augment", "bf16"}
        rest = {"betas": (t.beta1, t.beta2), "augment": tuple(t.augment), "bf16": bf16}
        return cls(**{k: getattr(t, k) for k in keys}, **rest)


class Phases:
    """G, D (optionally DDP-wrapped), G_ema and their optimizers; owns backward and step."""

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        G_ema: nn.Module,
        recipe: Recipe,
        conditioning: Conditioning | None = None,
        moment_views: Callable[[torch.Tensor], list[torch.Tensor]] | None = None,
    ) -> None:
        self.G, self.D, self.G_ema, self.r = G, D, G_ema, recipe
        self.d_loss, self.g_loss = OBJECTIVES[recipe.objective]
        self.threshold = decision_threshold(recipe.objective)
        inner = unwrap(G)
        self.z_dim, self.num_classes = inner.z_dim, inner.num_classes
        self.device = next(inner.parameters()).device
        self.opt_g = torch.optim.Adam(G.parameters(), lr=recipe.lr_g, betas=recipe.betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=recipe.lr_d, betas=recipe.betas)
        self.augment_p = recipe.augment_p
        # ADA evidence since the last adjustment: sum of sign(D(real)) and its count.
        self.ada_stats = torch.zeros(2, device=self.device)
        self.last_reg = torch.zeros((), device=self.device)
        self.rollbacks, self.lr_scale = 0, 1.0  # divergence rollbacks so far, lr multiplier
        self.poison: set[tuple[str, int]] = set()  # test hook: (phase, step) NaNs that loss once
        # What fakes are conditioned on and G's loss under it (class labels unless the kind
        # says otherwise: tables condition on discrete columns).
        self.conditioning = conditioning or ClassLabels(self.num_classes)
        self._asked: Any = None  # what the last drawn condition asked for (G's loss needs it)
        self.pack = int(getattr(unwrap(D), "pac", 1))  # PacGAN: D scores packs of rows
        # What the moment loss compares (the kind's views of a batch; default: all features).
        self.moment_views = moment_views or flat_views

    def state_dict(self) -> dict[str, Any]:
        """Optimizers and augmentation state (the networks are saved by the caller)."""
        return {
            "opt_G": self.opt_g.state_dict(),
            "opt_D": self.opt_d.state_dict(),
            "augment_p": self.augment_p,
            "ada_stats": self.ada_stats.cpu(),
            "rollbacks": self.rollbacks,
            "lr_scale": self.lr_scale,
        }

    def load_state_dict(self, state: dict[str, Any], keep_ada_stats: bool = True) -> None:
        """Restore what state_dict saved; under DDP only one rank keeps the (summed) ADA
        evidence, or the next all-reduce would count it once per rank."""
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        self.augment_p = float(state["augment_p"])
        ada = state["ada_stats"].to(self.device)
        self.ada_stats = ada if keep_ada_stats else torch.zeros_like(ada)
        self.rollbacks = int(state.get("rollbacks", 0))
        self.lr_scale = float(state.get("lr_scale", 1.0))

    def scale_lr(self, factor: float) -> None:
        """Multiply both learning rates (a divergence rollback lowers them)."""
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] *= factor
        self.lr_scale *= factor

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.r.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _aug(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return diff_augment(x, self.r.augment, self.augment_p, gen) if self.r.augment else x

    def _latents(self, n: int, gen: torch.Generator) -> Batch:
        z = to_device(torch.randn(n, self.z_dim, generator=gen), self.device)
        y, self._asked = self.conditioning.sample(n, gen)
        return z, None if y is None else to_device(y, self.device)

    def _check_poison(self, loss: torch.Tensor, phase: str, step: int) -> torch.Tensor:
        if (phase, step) not in self.poison:
            return loss
        self.poison.discard((phase, step))  # once: a rollback replays the step cleanly
        return loss * float("nan")

    def d_main_loss(
        self,
        real: torch.Tensor,
        y: torch.Tensor | None,
        fake: torch.Tensor,
        y_fake: torch.Tensor | None,
        alpha: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """D's objective on (augmented) reals and fakes, plus the gradient penalty on
        interpolates mixed by alpha [N] when gp_weight > 0; returns (loss, logits, logits)."""
        D = self.D
        with self._autocast():
            real_logits, fake_logits = D(real, y).float(), D(fake, y_fake).float()
            loss = self.d_loss(real_logits, fake_logits)
            extra = self.conditioning.discriminator_loss(D, real)
            if extra is not None:  # e.g. a table's label classifier, trained on real rows
                loss = loss + extra
            if self.r.gp_weight:
                critic = lambda x: D(x, y).float()  # noqa: E731
                gp = gradient_penalty(critic, real, fake, alpha=alpha, pack=self.pack)
                loss = loss + self.r.gp_weight * gp.mean()
        return loss, real_logits, fake_logits

    def d_main_backward(
        self, real: torch.Tensor, y: torch.Tensor | None, step: int, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Phase D_main: loss on reals vs detached fakes (+ gradient penalty); backward only."""
        z, y_fake = self._latents(real.shape[0], gen)
        if self.r.gp_weight and y is not None:
            y_fake = y  # interpolates of a real and a fake are scored under one label
        with torch.no_grad(), self._autocast():
            fake = self.G(z, y_fake).float()
        real_a, fake_a = self._aug(real, gen), self._aug(fake, gen)
        alpha = None
        if self.r.gp_weight:
            alpha = to_device(torch.rand(real.shape[0], generator=gen), self.device)
        loss, real_logits, fake_logits = self.d_main_loss(real_a, y, fake_a, y_fake, alpha)
        loss = self._check_poison(loss, "D_main", step)
        loss.backward()
        if self.r.ada_target:
            sign = torch.sign(real_logits.detach() - self.threshold)
            self.ada_stats += torch.stack([sign.sum(), sign.new_tensor(float(sign.numel()))])
        return loss.detach(), real_logits.detach(), fake_logits.detach()

    def d_reg_backward(
        self, real: torch.Tensor, y: torch.Tensor | None, step: int, gen: torch.Generator
    ) -> torch.Tensor:
        """Phase D_reg: lazy R1 on (augmented) reals, scaled by its interval; backward only."""
        x = real.detach().requires_grad_(True)
        with self._autocast():
            logits = self.D(self._aug(x, gen), y).float()
        penalty = r1_penalty(logits, x) * (self.r.r1_gamma / 2)
        # `logits * 0` ties every output of D into the loss, so DDP sees all of them used.
        loss = (logits * 0 + penalty).mean() * self.r.r1_interval
        loss = self._check_poison(loss, "D_reg", step)
        loss.backward()
        return loss.detach()

    def g_main_backward(self, real: torch.Tensor, step: int, gen: torch.Generator) -> torch.Tensor:
        """Phase G_main: the generator loss through D (plus the moment loss against the real
        batch); backward only (D's grads discarded)."""
        z, y = self._latents(real.shape[0], gen)
        D = self.D
        ddp = isinstance(D, DistributedDataParallel)
        with D.no_sync() if ddp else contextlib.nullcontext(), self._autocast():
            augment = lambda x: self._aug(x, gen)  # noqa: E731
            loss, fake = self.conditioning.generator_loss(
                self.G, D, z, y, self._asked, self.g_loss, augment
            )
            if self.r.moment_weight:
                views = self.moment_views
                # The global batch's moments (the loss one process computes), not this rank's.
                gap = moment_gap(views(fake), views(real.detach().float()), summed_over_ranks())
                loss = loss + self.r.moment_weight * gap
        loss = self._check_poison(loss, "G_main", step)
        loss.backward()
        return loss.detach()

    def step(self, reals: Sequence[Batch], step: int, gen: torch.Generator) -> torch.Tensor:
        """d_steps x D main, D reg at its interval, G main, EMA; detached PHASE_KEYS stats."""
        for real, y in reals:
            self.opt_d.zero_grad(set_to_none=True)
            loss_d, real_logits, fake_logits = self.d_main_backward(real, y, step, gen)
            self.opt_d.step()
        if self.r.r1_gamma and step % self.r.r1_interval == 0:
            self.opt_d.zero_grad(set_to_none=True)
            self.last_reg = self.d_reg_backward(*reals[-1], step, gen)
            self.opt_d.step()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g = self.g_main_backward(reals[-1][0], step, gen)
        self.opt_g.step()
        update_ema(self.G_ema, unwrap(self.G), self.ema_decay(step))
        with torch.no_grad():
            accuracy = ((real_logits > self.threshold).float().mean()) / 2 + (
                (fake_logits < self.threshold).float().mean() / 2
            )
            return torch.stack(
                [
                    loss_d,
                    self.last_reg,
                    loss_g,
                    torch.sigmoid(real_logits).mean(),
                    torch.sigmoid(fake_logits).mean(),
                    accuracy,
                ]
            )

    def ema_decay(self, step: int) -> float:
        """The EMA's decay after `step`: ema_decay, capped early on under ema_rampup (else
        the average would mostly hold the random init for the first thousand steps)."""
        if not self.r.ema_rampup:
            return self.r.ema_decay
        return min(self.r.ema_decay, (1 + step) / (10 + step))

    def adjust_augment(self) -> None:
        """ADA: move augment_p toward E[sign D(real)] == ada_target, agreed across ranks."""
        if not self.r.ada_target:
            return
        stats = self.ada_stats.clone()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(stats)
        total, count = stats.tolist()
        if count:
            r = self.r
            self.augment_p = ada_update(
                self.augment_p, total / count, r.ada_target, int(count), r.ada_speed_images
            )
        self.ada_stats.zero_()

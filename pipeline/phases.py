"""One GAN training step in named phases (D main, G main, EMA): plain torch, no Ray.

The Ray seam (pipeline/loop.py) wraps G and D in DDP and calls `Phases.step`; the GPU check
script drives the same code under a bare NCCL process group.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganmodels.ema import update_ema
from ganmodels.losses import d_loss_bce, g_loss_nonsaturating

# Metric keys of the stats vector `Phases.step` returns (phase names, stylegan2-ada style).
PHASE_KEYS = ("loss/D_main", "loss/G_main", "D/real", "D/fake")


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


def seeded(stream: str, seed: int, *parts: int) -> torch.Generator:
    """A CPU generator for one named random stream, keyed by integers.

    A cryptographic digest keeps streams apart (no `hash()` collisions such as -1/-2, none
    between e.g. the data order and the latents) and stable across Python versions.
    """
    key = ":".join(map(str, (stream, seed, *parts))).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


class ShardSampler:
    """Per-epoch permutation of the train split, dealt round-robin to ranks (drop-last).

    The batch at a step is a pure function of (seed, rank, step): resuming needs no data state.
    """

    def __init__(self, n: int, batch: int, rank: int, world: int, seed: int) -> None:
        self.n, self.batch, self.rank, self.world, self.seed = n, batch, rank, world, seed
        self.per_epoch = (n // world) // batch
        if self.per_epoch < 1:
            raise ValueError(f"train split has {n} rows: too few for {world} x batch {batch}")
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        """Row indices of this rank's batch at a global step."""
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            perm = torch.randperm(self.n, generator=seeded("data-order", self.seed, epoch))
            self._epoch, self._order = epoch, perm[self.rank :: self.world]
        return self._order[i * self.batch : (i + 1) * self.batch]


class Phases:
    """G, D (optionally DDP-wrapped), G_ema and their optimizers; owns backward and step."""

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        G_ema: nn.Module,
        lr: float,
        betas: tuple[float, float],
        ema_decay: float,
    ) -> None:
        self.G, self.D, self.G_ema, self.ema_decay = G, D, G_ema, ema_decay
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)

    def step(
        self, real: torch.Tensor, z_d: torch.Tensor, z_g: torch.Tensor, step: int
    ) -> torch.Tensor:
        """D main, G main, EMA; returns detached stats in PHASE_KEYS order (no host sync)."""
        G, D = self.G, self.D
        # Phase D_main: real vs detached fakes.
        with torch.no_grad():
            fake = G(z_d)
        real_logits, fake_logits = D(real), D(fake)
        loss_d = d_loss_bce(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # Phase G_main: D's gradients here are discarded, so skip their all-reduce.
        fake = G(z_g)
        no_sync = (
            D.no_sync() if isinstance(D, DistributedDataParallel) else contextlib.nullcontext()
        )
        with no_sync:
            g_logits = D(fake)
        loss_g = g_loss_nonsaturating(g_logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        # EMA ramp-up: early on the average would mostly hold the random init.
        update_ema(self.G_ema, unwrap(G), min(self.ema_decay, (1 + step) / (10 + step)))
        with torch.no_grad():
            return torch.stack(
                [
                    loss_d.detach(),
                    loss_g.detach(),
                    torch.sigmoid(real_logits).mean(),
                    torch.sigmoid(fake_logits).mean(),
                ]
            )

"""Gradient penalties under DDP: two gloo ranks, each on half the batch, end with the same
D gradients as one process on the whole batch (the penalties are per-sample means, and a
spectrally normalised D without batch norm has no cross-sample terms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from ganmodels.build import build_discriminator, build_generator
from ganmodels.ema import make_ema
from pipeline.phases import Phases, Recipe, ddp_buffer_kwargs

WORLD = 2
CFG = {
    "kind": "image",
    "architecture": "resnet",
    "z_dim": 8,
    "channels": 1,
    "image_size": 8,
    "g_channels": 8,
    "d_channels": 8,
    "num_classes": 10,
    "spectral_norm": True,
}
RECIPE = Recipe(
    objective="wgan", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), d_steps=1, r1_gamma=10.0,
    r1_interval=4, gp_weight=10.0, ema_decay=0.99, augment=(), augment_p=0.0,
    ada_target=0.0, ada_interval=4, ada_speed_images=100,
)  # fmt: skip


def _inputs() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(123)
    return {
        "real": torch.rand(8, 1, 8, 8, generator=gen) * 2 - 1,
        "y": torch.randint(0, 10, (8,), generator=gen),
        "fake": torch.rand(8, 1, 8, 8, generator=gen) * 2 - 1,
        "y_fake": torch.randint(0, 10, (8,), generator=gen),
        "alpha": torch.rand(8, generator=gen),
    }


def _grads(phases: Phases, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """D's gradients of D reg (R1), then of D main with the gradient penalty."""
    out = {}
    phases.opt_d.zero_grad(set_to_none=True)
    phases.d_reg_backward(batch["real"], batch["y"], step=0, gen=torch.Generator())
    out.update({f"r1/{n}": p.grad.clone() for n, p in phases.D.named_parameters()})
    phases.opt_d.zero_grad(set_to_none=True)
    loss, _, _ = phases.d_main_loss(
        batch["real"], batch["y"], batch["fake"], batch["y_fake"], batch["alpha"]
    )
    loss.backward()
    out.update({f"gp/{n}": p.grad.clone() for n, p in phases.D.named_parameters()})
    return {k.replace("module.", ""): v for k, v in out.items()}


def _phases(wrap: bool) -> Phases:
    torch.manual_seed(0)
    G, D = build_generator(CFG), build_discriminator(CFG)
    if wrap:
        D = DistributedDataParallel(D, **ddp_buffer_kwargs())
    return Phases(G, D, make_ema(G), RECIPE)


def _rank(rank: int, tmp: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=rank, world_size=WORLD)
    try:
        torch.set_num_threads(1)
        half = {k: v.chunk(WORLD)[rank] for k, v in _inputs().items()}
        torch.save(_grads(_phases(wrap=True), half), f"{tmp}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_penalty_gradients_under_ddp_match_one_process(tmp_path: Path) -> None:
    mp.spawn(_rank, args=(str(tmp_path),), nprocs=WORLD, join=True)
    want = _grads(_phases(wrap=False), _inputs())
    assert any(k.startswith("r1/") for k in want) and any(k.startswith("gp/") for k in want)
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got.keys() == want.keys()
        for name, g in want.items():
            assert g.abs().sum() > 0 or "bias" in name, f"{name}: no gradient at all"
            torch.testing.assert_close(got[name], g, rtol=1e-4, atol=1e-6, msg=name)


def _views(x: torch.Tensor) -> list[torch.Tensor]:
    """The sequence kind's moment views: every (step, channel) value; every step change."""
    return [x.flatten(1), x.diff(dim=1).flatten(0, 1)]


def _moment_grads(G: torch.nn.Module, z: torch.Tensor, real: torch.Tensor) -> dict[str, Any]:
    """The moment loss of G's sequences [N, 4, 3] against real ones, and G's gradients."""
    from ganmodels.losses import moment_gap
    from pipeline.collectives import summed_over_ranks

    loss = moment_gap(_views(G(z).view(-1, 4, 3)), _views(real), summed_over_ranks())
    loss.backward()
    grads = {n.replace("module.", ""): p.grad.clone() for n, p in G.named_parameters()}
    return {"loss": loss.detach(), **grads}


def _moment_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    return torch.randn(8, 5, generator=gen), torch.rand(8, 4, 3, generator=gen)


def _moment_rank(rank: int, tmp: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(0)
        G = DistributedDataParallel(torch.nn.Linear(5, 12))
        z, real = (t.chunk(WORLD)[rank] for t in _moment_inputs())
        torch.save(_moment_grads(G, z, real), f"{tmp}/moments{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_the_moment_loss_under_ddp_is_the_whole_batchs(tmp_path: Path) -> None:
    """Two gloo ranks with half the batch each compute the whole batch's moment loss and end
    with the gradients of one process on the whole batch: the loss G follows does not
    depend on the worker count (each rank's own means and spreads would: checked below)."""
    from ganmodels.losses import moment_gap

    mp.spawn(_moment_rank, args=(str(tmp_path),), nprocs=WORLD, join=True)
    torch.manual_seed(0)
    G = torch.nn.Linear(5, 12)
    z, real = _moment_inputs()
    want = _moment_grads(G, z, real)
    for rank in range(WORLD):
        got = torch.load(tmp_path / f"moments{rank}.pt", weights_only=True)
        assert got.keys() == want.keys()
        for name, value in want.items():
            torch.testing.assert_close(got[name], value, rtol=1e-4, atol=1e-6, msg=name)
        fake = G(z.chunk(WORLD)[rank]).view(-1, 4, 3)
        own = moment_gap(_views(fake), _views(real.chunk(WORLD)[rank]))
        assert (own - want["loss"]).abs() > 0.01  # a rank's own batch: another loss


def _phase_rank(rank: int, tmp: str) -> None:
    """G main of a small sequence pair under DDP with a moment loss: which sum it was given."""
    import dataclasses

    import pipeline.phases
    from ganmodels.sequence.nets import build_discriminator as seq_d
    from ganmodels.sequence.nets import build_generator as seq_g

    dist.init_process_group("gloo", init_method=f"file://{tmp}/pg", rank=rank, world_size=WORLD)
    try:
        given, gap = [], pipeline.phases.moment_gap

        def spy(fake: Any, real: Any, total: Any = None) -> torch.Tensor:
            given.append(total)
            return gap(fake, real, total)

        pipeline.phases.moment_gap = spy
        cfg = {"architecture": "rnn", "z_dim": 4, "seq_len": 4, "features": 3,
               "g_channels": 8, "d_channels": 8}  # fmt: skip
        torch.manual_seed(0)
        G, D = DistributedDataParallel(seq_g(cfg)), DistributedDataParallel(seq_d(cfg))
        recipe = dataclasses.replace(RECIPE, moment_weight=1.0, r1_gamma=0.0, gp_weight=0.0)
        phases = Phases(G, D, make_ema(seq_g(cfg)), recipe)
        real = torch.cat([torch.rand(4, 4, 3) * 2 - 1, torch.ones(4, 4, 1)], dim=2)
        phases.g_main_backward(real, step=0, gen=torch.Generator().manual_seed(rank))
        torch.save({"summed": [t is not None for t in given]}, f"{tmp}/phase{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_g_main_gives_the_moment_loss_the_sum_over_ranks(tmp_path: Path) -> None:
    """Phases.g_main_backward hands the moment loss the sum over ranks under DDP (and None in
    one process), so the whole-batch moments above are the ones training uses."""
    from pipeline.collectives import summed_over_ranks

    assert summed_over_ranks() is None  # this process: no group
    mp.spawn(_phase_rank, args=(str(tmp_path),), nprocs=WORLD, join=True)
    for rank in range(WORLD):
        assert torch.load(tmp_path / f"phase{rank}.pt")["summed"] == [True]

"""Promotion gate and training-loop helpers (pure functions)."""

from __future__ import annotations

import torch

from pipeline.config import RegisterConfig
from pipeline.gate import gate
from pipeline.streams import ShardSampler


def _cfg(min_improvement: float = 0.0, higher: bool = False) -> RegisterConfig:
    return RegisterConfig(
        model_name="m",
        primary_metric="fd_digits",
        higher_is_better=higher,
        min_improvement=min_improvement,
    )


def test_first_version_becomes_champion() -> None:
    assert gate(50.0, None, _cfg())[0]


def test_lower_is_better_with_margin() -> None:
    assert gate(9.0, 10.0, _cfg())[0]
    assert not gate(10.0, 10.0, _cfg())[0]  # a tie keeps the champion
    assert not gate(11.0, 10.0, _cfg())[0]
    assert not gate(9.6, 10.0, _cfg(0.05))[0]  # better, but by less than 5%
    ok, reason = gate(9.5, 10.0, _cfg(0.05))
    assert ok and "beats" in reason and "5.0%" in reason


def test_higher_is_better() -> None:
    assert gate(0.9, 0.8, _cfg(higher=True))[0]
    assert not gate(0.7, 0.8, _cfg(higher=True))[0]


def test_shard_sampler_deals_disjoint_batches_per_epoch() -> None:
    n, batch, world = 100, 8, 2
    samplers = [ShardSampler(n, batch, r, world, seed=3) for r in range(world)]
    per_epoch = samplers[0].per_epoch
    seen = [torch.cat([s.indices(step) for step in range(per_epoch)]) for s in samplers]
    assert len(set(seen[0].tolist()) & set(seen[1].tolist())) == 0
    assert all(len(set(x.tolist())) == per_epoch * batch for x in seen)
    # Deterministic by step: a fresh sampler (a resumed worker) gets the same batch.
    fresh = ShardSampler(n, batch, 1, world, seed=3)
    assert torch.equal(fresh.indices(per_epoch + 2), samplers[1].indices(per_epoch + 2))
    # A new epoch reshuffles.
    assert not torch.equal(samplers[0].indices(0), samplers[0].indices(per_epoch))

"""Seeded random streams and the per-rank deal of the train split: a run is a function of its
seed, so a resumed run sees the same batches and latents as one never interrupted."""

from __future__ import annotations

import hashlib

import torch


def seeded(stream: str, seed: int, *parts: int) -> torch.Generator:
    """A CPU generator for one named random stream, keyed by integers.

    A cryptographic digest keeps streams apart (no `hash()` collisions such as -1/-2, none
    between e.g. the data order and the latents) and stable across Python versions.
    """
    key = ":".join(map(str, (stream, seed, *parts))).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A CPU tensor on `device`; on CUDA through pinned memory, so the host does not stall.

    Latents and batch indices come from seeded CPU streams (a run is a function of its seed);
    a plain copy from pageable memory would block the host until the GPU drains its queue.
    """
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


class ShardSampler:
    """Per-epoch permutation of the train split, dealt round-robin to ranks (drop-last).

    The batch at a draw index is a pure function of (seed, rank, index): resuming needs no
    data state.
    """

    def __init__(self, n: int, batch: int, rank: int, world: int, seed: int) -> None:
        self.n, self.batch, self.rank, self.world, self.seed = n, batch, rank, world, seed
        self.per_epoch = (n // world) // batch
        if self.per_epoch < 1:
            raise ValueError(f"train split has {n} rows: too few for {world} x batch {batch}")
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def indices(self, index: int) -> torch.Tensor:
        """Row indices of this rank's batch number `index` (d_steps batches per step)."""
        epoch, i = divmod(index, self.per_epoch)
        if epoch != self._epoch:
            perm = torch.randperm(self.n, generator=seeded("data-order", self.seed, epoch))
            self._epoch, self._order = epoch, perm[self.rank :: self.world]
        return self._order[i * self.batch : (i + 1) * self.batch]

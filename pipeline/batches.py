"""Each rank's real batches, a pure function of (seed, rank, draw index): images or table rows.

No ray here: the loop (pipeline/loop.py) picks one by the model's architecture.
"""

from __future__ import annotations

import numpy as np
import torch

from ganmodels.tabular_sampler import Conditioner, ConditionSampler
from pipeline.data import load_split, to_unit_range
from pipeline.phases import Batch, ShardSampler, seeded, to_device


class ImageBatches:
    """The train split's images (and labels of a conditional model), dealt by ShardSampler."""

    def __init__(
        self, prepared_dir: str, per_rank: int, rank: int, world: int, seed: int,
        conditional: bool, device: torch.device,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:  # fmt: skip
        images, labels = load_split(prepared_dir, "train")
        self.data = torch.from_numpy(to_unit_range(images)).to(device)
        self.targets = torch.from_numpy(labels).to(device) if conditional else None
        self.sampler = ShardSampler(len(self.data), per_rank, rank, world, seed)
        self.device, self.memory_format = device, memory_format

    def batch(self, index: int) -> Batch:
        """This rank's batch number `index` (in the models' memory format)."""
        rows = to_device(self.sampler.indices(index), self.device)
        images = self.data[rows].contiguous(memory_format=self.memory_format)
        return images, None if self.targets is None else self.targets[rows]


class TableBatches:
    """Encoded train rows, drawn by training-by-sampling: a condition, then matching rows."""

    def __init__(
        self, prepared_dir: str, per_rank: int, rank: int, seed: int, device: torch.device
    ) -> None:
        from pipeline.prepare_table import load_table_split, load_transformer

        transformer = load_transformer(prepared_dir)
        rows = transformer.transform(load_table_split(prepared_dir, "train"))
        self.data = torch.from_numpy(rows).to(device)
        self.sampler = ConditionSampler(rows, transformer.spans)
        self.conditioner = Conditioner(self.sampler, transformer.spans)
        self.per_rank, self.rank, self.seed, self.device = per_rank, rank, seed, device

    def batch(self, index: int) -> Batch:
        """This rank's rows and their condition vectors for draw `index`."""
        gen = seeded("table-rows", self.seed, self.rank, index)
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
        cond, cols, levels = self.sampler.train_conditions(self.per_rank, rng)
        rows = to_device(
            torch.from_numpy(self.sampler.matching_rows(cols, levels, rng)), self.device
        )
        return self.data[rows], to_device(torch.from_numpy(cond), self.device)

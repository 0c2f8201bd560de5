"""One training rank's sequences: batches dealt from the train split (scaled, masked), their
class labels for a conditional model, and the best-checkpoint probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ganmodels.conditioning import ClassLabels
from ganmodels.sequence.scaling import Scaling
from pipeline.kinds.sequence.probe import ValueKS
from pipeline.kinds.sequence.shards import load_split
from pipeline.phases import Batch
from pipeline.streams import ShardSampler, to_device

if TYPE_CHECKING:
    from pipeline.config import TrainConfig


class SequenceBatches:
    """The train split in model space [N, T, C + 1], dealt by ShardSampler."""

    memory_format = None  # [N, T, C]: no layout to choose
    probe_name = "ks_values"

    def __init__(
        self,
        prepared_dir: str,
        model_config: dict[str, Any],
        train: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> None:
        num_classes = int(model_config.get("num_classes", 0))
        values, labels = load_split(prepared_dir, "train")
        scaled = Scaling.from_dict(model_config["scaling"]).to_model(values)
        self.data = torch.from_numpy(scaled).to(device)
        self.targets = torch.from_numpy(labels).to(device) if num_classes else None
        self.sampler = ShardSampler(
            len(self.data), train.batch_size // world, rank, world, train.seed
        )
        self.device = device
        self.conditioning = ClassLabels(num_classes)
        self._probe = ValueKS(self.data, self.targets, train.seed) if rank == 0 else None

    def batch(self, index: int) -> Batch:
        """This rank's sequences (and labels) for draw `index`."""
        rows = to_device(self.sampler.indices(index), self.device)
        return self.data[rows], None if self.targets is None else self.targets[rows]

    def moment_views(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each (step, channel) value, and each channel's step-to-step change pooled over the
        steps: matching the second's spread keeps smooth channels smooth, noisy ones noisy."""
        values = x[..., :-1]
        return [values.flatten(1), values.diff(dim=1).flatten(0, 1)]

    def probe(self, G_ema: torch.nn.Module) -> float | None:
        """The KS distance of G_ema's fixed samples' values and lengths (rank 0)."""
        return None if self._probe is None else self._probe(G_ema)

    def preview(self, G_ema: torch.nn.Module) -> None:
        """No picture while training: evaluate draws the sequences' figure."""
        return None

"""One training rank's images: batches dealt from the train split, class labels, the
best-checkpoint probe and the sample grid logged while training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from ganmodels.conditioning import ClassLabels
from ganmodels.image.sampling import to_uint8
from ganmodels.losses import flat_views
from pipeline.kinds.image.figure import make_grid
from pipeline.kinds.image.probe import PixelFD
from pipeline.kinds.image.shards import load_split, to_unit_range
from pipeline.phases import Batch
from pipeline.streams import ShardSampler, seeded, to_device

if TYPE_CHECKING:
    from pipeline.config import TrainConfig

GRID = 64  # samples in the grid logged every train.sample_every steps


class ImageBatches:
    """The train split's images (and labels of a conditional model), dealt by ShardSampler."""

    probe_name = "fd_pixels"
    moment_views = staticmethod(flat_views)  # every feature of a sample

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
        # NHWC lets cuDNN pick tensor-core kernels without layout transposes (benchmarks/gpu.py).
        on_gpu = device.type == "cuda"
        self.memory_format = torch.channels_last if train.channels_last and on_gpu else None
        images, labels = load_split(prepared_dir, "train")
        self.data = torch.from_numpy(to_unit_range(images)).to(device)
        self.targets = torch.from_numpy(labels).to(device) if num_classes else None
        per_rank = train.batch_size // world
        self.sampler = ShardSampler(len(self.data), per_rank, rank, world, train.seed)
        self.device = device
        self.conditioning = ClassLabels(num_classes)
        z_dim = int(model_config["z_dim"])
        grid_gen = seeded("grid-latents", train.seed)
        self.fixed_z = torch.randn(GRID, z_dim, generator=grid_gen).to(device)
        self.fixed_y = (torch.arange(GRID, device=device) % num_classes) if num_classes else None
        self._probe = PixelFD(self.data, self.targets, z_dim, train.seed) if rank == 0 else None

    def batch(self, index: int) -> Batch:
        """This rank's batch number `index` (in the models' memory format)."""
        rows = to_device(self.sampler.indices(index), self.device)
        images = self.data[rows].contiguous(
            memory_format=self.memory_format or torch.contiguous_format
        )
        return images, None if self.targets is None else self.targets[rows]

    def probe(self, G_ema: torch.nn.Module) -> float | None:
        """Pixel-space FD of G_ema's fixed samples (rank 0)."""
        return None if self._probe is None else self._probe(G_ema)

    @torch.no_grad()
    def preview(self, G_ema: torch.nn.Module) -> Image.Image:
        """A grid of G_ema's samples of the fixed latents (and labels)."""
        return make_grid(to_uint8(G_ema(self.fixed_z, self.fixed_y)).cpu().numpy())

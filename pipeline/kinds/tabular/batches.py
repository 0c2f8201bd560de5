"""One training rank's table rows, drawn by training-by-sampling: a condition, then real rows
that match it; G is conditioned the same way (CTGAN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganmodels.losses import flat_views
from ganmodels.tabular.conditions import (
    Conditioner,
    ConditionLayout,
    ConditionSampler,
    column_shares,
)
from ganmodels.tabular.transformer import Span
from pipeline.data import read_schema
from pipeline.kinds.tabular.shards import load_table_split, load_transformer
from pipeline.phases import Batch
from pipeline.streams import seeded, to_device

if TYPE_CHECKING:
    from pipeline.config import TrainConfig


def _label_shares(
    prepared_dir: str, spans: list[Span], train: TrainConfig, modes: bool
) -> np.ndarray | None:
    """How often training-by-sampling conditions on each conditioned column (None: alike)."""
    if train.label_share is None:
        return None
    label = read_schema(prepared_dir).get("label")
    if label is None:
        raise ValueError("train.label_share needs a label: set data.label to a discrete column")
    return column_shares(ConditionLayout(spans, modes).columns, label, train.label_share)


class TableBatches:
    """Encoded train rows and their condition vectors, a pure function of (seed, rank, index)."""

    memory_format = None  # rows are vectors: no layout to choose
    probe_name = ""  # no probe
    moment_views = staticmethod(flat_views)  # every feature of a row

    def __init__(
        self,
        prepared_dir: str,
        model_config: dict[str, Any],
        train: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> None:
        transformer = load_transformer(prepared_dir)
        rows = transformer.transform(load_table_split(prepared_dir, "train"))
        self.data = torch.from_numpy(rows).to(device)
        modes = bool(model_config.get("condition_modes", False))
        shares = _label_shares(prepared_dir, transformer.spans, train, modes)
        self.sampler = ConditionSampler(rows, transformer.spans, shares, modes)
        self.conditioning = Conditioner(
            self.sampler,
            transformer.spans,
            model_config.get("aux_label"),
            float(model_config.get("aux_classifier", 0.0)),
        )
        self.per_rank, self.rank, self.seed = train.batch_size // world, rank, train.seed
        self.device = device

    def batch(self, index: int) -> Batch:
        """This rank's rows and their condition vectors for draw `index`."""
        gen = seeded("table-rows", self.seed, self.rank, index)
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
        cond, cols, levels = self.sampler.train_conditions(self.per_rank, rng)
        rows = to_device(
            torch.from_numpy(self.sampler.matching_rows(cols, levels, rng)), self.device
        )
        return self.data[rows], to_device(torch.from_numpy(cond), self.device)

    def probe(self, G_ema: torch.nn.Module) -> None:
        """Tables have no cheap best-checkpoint score (train.export: best is refused at load)."""
        return None

    def preview(self, G_ema: torch.nn.Module) -> None:
        """No picture while training: evaluate draws the table's figure."""
        return None

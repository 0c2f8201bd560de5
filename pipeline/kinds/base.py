"""The interface every data kind implements: what each stage asks of its kind.

A stage looks its kind up once (`pipeline.kinds.get` or `for_schema`) and calls these methods;
nothing outside a kind's folder tests which kind it has. Implementations import their heavy
parts (torch, MLflow, pandas) inside the methods: params loading asks a kind for its rules and
metric names only, and must stay light.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    import numpy as np
    import torch
    from mlflow.models import ModelSignature
    from PIL import Image

    from ganmodels.conditioning import Conditioning
    from pipeline.config import DataConfig, EvaluateConfig, Params, TrainConfig
    from pipeline.metric_names import Direction
    from pipeline.phases import Batch  # real rows, their condition (or None)


@dataclass(frozen=True)
class Evaluation:
    """What a kind's evaluate gives the stage's one epilogue to write and log."""

    metrics: dict[str, Any]  # metrics/eval.json (top-level scalars as metric_names declares)
    figure: Image.Image  # plots/samples.png, also logged as eval/samples.png
    line: str  # one human line of the headline numbers
    artifacts: dict[str, str] = field(default_factory=dict)  # more MLflow text artifacts


@dataclass(frozen=True)
class FeatureSpace:
    """The classifier stage's outs: a checkpoint (a marker where none is needed) and metrics."""

    checkpoint: dict[str, Any]
    metrics: dict[str, Any]
    message: str


class RankData(Protocol):
    """One training rank's view of its kind: real batches, conditions, checks and previews."""

    conditioning: Conditioning
    memory_format: torch.memory_format | None  # of G and D (None: as built)
    probe_name: str  # what probe() measures: logged as monitor/<this>, kept as best_<this>

    def batch(self, index: int) -> Batch:
        """This rank's real batch number `index`, a pure function of (seed, rank, index)."""
        ...

    def moment_views(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Views [M, F] of a batch whose per-feature mean and std G's moment loss matches
        (train.moment_weight)."""
        ...

    def probe(self, G_ema: torch.nn.Module) -> float | None:
        """A cheap score of G_ema for keeping the best checkpoint (lower is better; None: the
        kind has none). Called on rank 0 only."""
        ...

    def preview(self, G_ema: torch.nn.Module) -> Image.Image | None:
        """A picture of G_ema's samples for MLflow (None: the kind logs none while training)."""
        ...


class Augmenter(Protocol):
    """`gan augment`'s parts of a kind (its folder's augment.py module)."""

    MARKER: str  # how the written set tells synthetic rows from real ones

    def check_out(self, out: Path) -> None:
        """Refuse an --out this kind cannot write, before any sampling."""

    def real_rows(self, prepared: Path) -> tuple[Any, np.ndarray]:
        """The train split as the pyfunc gives samples, and each row's class index (-1: none)."""

    def conditional(self, model: Any) -> bool:
        """Whether the loaded pyfunc can be asked for a class."""

    def class_request(self, k: int, schema: dict[str, Any]) -> dict[str, list]:
        """The pyfunc input columns that ask for class k."""

    def write(
        self, real: Any, labels: np.ndarray, parts: list[tuple[Any, np.ndarray]],
        names: list[str], out: Path,
    ) -> str:  # fmt: skip
        """Write real rows and the (samples, class indices) parts, marked; returns where."""


class DataKind(ABC):
    """A data kind: how its data is read, modelled, trained on, scored, served and written."""

    name: ClassVar[str]  # data.kind
    architectures: ClassVar[tuple[str, ...]]  # model.architecture values it trains
    prepared_files: ClassVar[tuple[str, ...]] = ()  # files prepare writes beside schema.json
    noun: ClassVar[str]  # what one sample is called, plural: "images", "rows"
    schema_keys: ClassVar[tuple[str, ...]] = ()  # schema.json keys logged as data.* params

    # -- params (light: no torch) --
    @abstractmethod
    def check_params(self, params: Params) -> None:
        """Refuse (ValueError naming the keys) a combination of params this kind cannot run."""

    @abstractmethod
    def metrics_written(
        self, source: str, feature_extractor: str, conditional: bool
    ) -> dict[str, Direction]:
        """Every top-level scalar evaluate writes to metrics/eval.json, with its direction."""

    def gate_hint(self, metric: str, source: str, feature_extractor: str) -> str:
        """Advice appended when register.primary_metric is not among metrics_written."""
        return ""

    def older_metric(self, metric: str, source: str, feature_extractor: str) -> str | None:
        """The older key of the same quantity as metric, compared on an older champion."""
        return None

    @abstractmethod
    def source_name(self, source: str) -> str:
        """The name a data.source goes by (the default model is gan-<this>)."""

    # -- prepare --
    @abstractmethod
    def prepare(self, cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
        """Read data.source, write the split shards into out_dir; return schema.json's content."""

    @abstractmethod
    def summary(self, schema: dict[str, Any]) -> str:
        """A short human summary of a prepared data set."""

    # -- classifier --
    @abstractmethod
    def fit_feature_space(self, prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
        """Train what evaluate's feature space needs (or say that none is needed)."""

    # -- train --
    @abstractmethod
    def model_config(
        self, params: Params, schema: dict[str, Any], prepared: Path | str
    ) -> dict[str, Any]:
        """The model config a checkpoint carries: params.model plus what the data implies."""

    @abstractmethod
    def rank_data(
        self,
        prepared_dir: str,
        model_config: dict[str, Any],
        train: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> RankData:
        """One rank's batches and conditions (on `device`)."""

    # -- evaluate --
    @abstractmethod
    def evaluate(
        self, params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
    ) -> Evaluation:
        """Score the exported generator's samples against the holdout split."""

    # -- register, sample, summary --
    @abstractmethod
    def signature(self, generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
        """The pyfunc's input/output schema and an input example."""

    @abstractmethod
    def check_out(self, out: Path) -> None:
        """Refuse a `gan sample --out` this kind cannot write, before any sampling."""

    def sample_request(self, out: Path) -> dict[str, list]:
        """Input columns `gan sample` adds for this --out (e.g. an output format); none by
        default."""
        return {}

    @abstractmethod
    def write_samples(self, samples: Any, out: Path) -> str:
        """Write the pyfunc's output to out; returns where, for the user."""

    @abstractmethod
    def augmenter(self) -> Augmenter:
        """`gan augment`'s reading, class requests and writing for this kind."""

    @abstractmethod
    def headline(self, metrics: dict[str, Any], primary: str) -> list[str]:
        """`gan summary`'s quality lines from metrics/eval.json."""

    @abstractmethod
    def direction(self, key: str) -> Direction:
        """Which way a version's (flattened) metric is better, for `gan review`."""

    @abstractmethod
    def review_metrics(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The headline metrics a review leads with (flat keys, in order), each with the
        reference keys (real-data floor, trivial baseline) to read it against."""

    review_artifacts: ClassVar[tuple[str, ...]] = ()  # eval artifacts its review figures read

    def review_figures(
        self, a: dict[str, str], b: dict[str, str] | None
    ) -> list[tuple[str, bytes]]:
        """(title, PNG) figures of the review page beyond the grids, from each version's
        `review_artifacts` (B's None when one version is shown alone); none by default."""
        return []

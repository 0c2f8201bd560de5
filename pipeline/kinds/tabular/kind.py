"""The table kind: a CSV/Parquet file or an embedded table; CTGAN's recipe (mode-specific
normalisation, training-by-sampling, PacGAN); SDMetrics-style scores; a pyfunc of rows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.kinds.base import Augmenter, DataKind, Evaluation, FeatureSpace, RankData
from pipeline.kinds.tabular.pack import PAC

if TYPE_CHECKING:
    import torch
    from mlflow.models import ModelSignature

    from pipeline.config import DataConfig, EvaluateConfig, Params, TrainConfig
    from pipeline.metric_names import Direction


class TabularKind(DataKind):
    """Tables (see the module docstring); each method imports its stage's module."""

    name = "tabular"
    noun = "rows"
    architectures = ("ctgan",)
    prepared_files = ("transformer.json",)  # the fitted row transformer (shards.TRANSFORMER)
    review_artifacts = ("eval/columns.json", "eval/pair_trends.json")  # review page figures

    def check_params(self, params: Params) -> None:
        """PacGAN packs, no augmentation or class conditioning, no best-checkpoint probe."""
        m, t = params.model, params.train
        if (t.batch_size // t.num_workers) % PAC:
            raise ValueError(
                f"train.batch_size / train.num_workers must be a multiple of {PAC} for tables "
                f"(PacGAN scores packs of {PAC} rows), got {t.batch_size // t.num_workers}"
            )
        if t.augment or m.conditional:
            raise ValueError(
                "tables take no train.augment and no model.conditional (they condition by "
                "training-by-sampling on every discrete column)"
            )
        if t.export == "best":
            raise ValueError(
                "train.export: best needs the best-checkpoint probe (pixel-space FD), which "
                "images have and tables (data.kind: tabular) do not: set train.export: final"
            )

    def metrics_written(
        self, source: str, feature_extractor: str, conditional: bool
    ) -> dict[str, Direction]:
        """Quality (column shapes, pair trends), detection AUC and their real-row ceilings."""
        from pipeline.kinds.tabular import metrics

        return dict(metrics.TABLE)

    def source_name(self, source: str) -> str:
        """The file's stem (or the embedded table's name)."""
        return Path(source).stem

    def prepare(self, cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
        """Read and check the table, split it, fit the transformer, write the shards."""
        from pipeline.kinds.tabular.prepare import prepare_table

        return prepare_table(cfg, out_dir, root)

    def summary(self, schema: dict[str, Any]) -> str:
        """Counts and every column's kind."""
        from pipeline.kinds.tabular.prepare import summary

        return summary(schema)

    def fit_feature_space(self, prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
        """None: tables are scored in their own columns. DVC still wants the stage's outs."""
        from pipeline.data import read_schema

        marker = {"kind": self.name, "data_hash": str(read_schema(prepared)["data_hash"])}
        message = "classifier: not used for tables (their metrics need no learned features)"
        return FeatureSpace(marker, {"epochs": 0}, message)

    def model_config(
        self, params: Params, schema: dict[str, Any], prepared: Path | str
    ) -> dict[str, Any]:
        """params.model plus the encoded row's spans and the fitted transformer."""
        from pipeline.kinds.tabular.model_config import model_config

        return model_config(params, prepared)

    def rank_data(
        self,
        prepared_dir: str,
        model_config: dict[str, Any],
        train: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> RankData:
        """Training-by-sampling batches and conditions."""
        from pipeline.kinds.tabular.batches import TableBatches

        return TableBatches(prepared_dir, model_config, train, rank, world, device)

    def evaluate(
        self, params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
    ) -> Evaluation:
        """Fidelity, detection, efficacy and DCR against the holdout, and the figure."""
        from pipeline.kinds.tabular.evaluate import evaluate_generator

        return evaluate_generator(params, schema, generator, root)

    def signature(self, generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
        """{n, seed[, condition_column, condition_value]} -> the table's columns."""
        from pipeline.kinds.tabular.serving import signature

        return signature(generator)

    def check_out(self, out: Path) -> None:
        """A .parquet or .csv file."""
        from pipeline.kinds.tabular.serving import check_out

        check_out(out)

    def write_samples(self, samples: Any, out: Path) -> str:
        """The rows as Parquet or CSV."""
        from pipeline.kinds.tabular.serving import write_samples

        return write_samples(samples, out)

    def augmenter(self) -> Augmenter:
        """`gan augment`: one file with a `synthetic` column."""
        from pipeline.kinds.tabular import augment

        return augment  # a module with the Augmenter's functions

    def direction(self, key: str) -> Direction:
        """Similarity scores higher, detection AUC lower."""
        from pipeline.kinds.tabular import metrics

        return metrics.direction(key)

    def review_figures(
        self, a: dict[str, str], b: dict[str, str] | None
    ) -> list[tuple[str, bytes]]:
        """Each column real vs A vs B, and both versions' pair-trend gap maps."""
        from pipeline.kinds.tabular import review

        return review.review_figures(a, b)

    def review_metrics(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Quality, boosted and linear detection, the most telling column, efficacy, DCR."""
        from pipeline.kinds.tabular import metrics

        return metrics.REVIEW

    def headline(self, metrics_: dict[str, Any], primary: str) -> list[str]:
        """Quality against the real rows', detection AUC, efficacy, DCR."""
        from pipeline.kinds.tabular import metrics

        return metrics.headline(metrics_)

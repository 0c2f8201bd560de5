"""The sequence kind: time series and audio-like signals of fixed or variable length (an
embedded set, a long-format table, one long series in windows, a .npy array); recurrent and
temporal-conv GANs; TimeGAN's scores; a pyfunc of [n, T, C] arrays."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.kinds.base import Augmenter, DataKind, Evaluation, FeatureSpace, RankData

if TYPE_CHECKING:
    import torch
    from mlflow.models import ModelSignature

    from pipeline.config import DataConfig, EvaluateConfig, Params, TrainConfig
    from pipeline.metric_names import Direction

LABELED_SETS = {"japanese_vowels": True, "sines": False}  # the embedded sets' labels


def labeled(source: str, label: str | None, id_column: str | None) -> bool:
    """Whether data.source gives each sequence a label (known at params load)."""
    if source in LABELED_SETS:
        return LABELED_SETS[source]
    return label is not None and id_column is not None


class SequenceKind(DataKind):
    """Sequences (see the module docstring); each method imports its stage's module."""

    name = "sequence"
    noun = "sequences"
    architectures = ("rnn", "tcn")
    schema_keys = ("seq_len",)

    def check_params(self, params: Params) -> None:
        """Labels for a conditional model; no image augmentation; the classifier's features;
        no filter or projection on an oscillator bank, which would change nothing."""
        d, m, t = params.data, params.model, params.train
        if m.conditional and not labeled(d.source, d.label, d.id_column):
            raise ValueError(
                f"model.conditional: true needs a label per sequence, and data.source "
                f"{d.source!r} has none: set data.label (with data.id_column) or "
                "model.conditional: false"
            )
        if t.augment:
            raise ValueError("train.augment is for images: sequences take train.augment: []")
        if m.oscillators and (m.smoothing or m.polynomial):
            raise ValueError(
                "model.oscillators replaces G's network, so model.smoothing and "
                "model.polynomial would do nothing: set them to 0 (rnn_smooth sets smoothing: 2)"
            )
        if params.evaluate.feature_extractor != "classifier":
            raise ValueError(
                "evaluate.feature_extractor: inception is for images; sequences use their own "
                "encoder (the classifier stage): set evaluate.feature_extractor: classifier"
            )

    def metrics_written(
        self, source: str, feature_extractor: str, conditional: bool
    ) -> dict[str, Direction]:
        """TimeGAN's scores and the shape errors, with real and shuffled references; TSTR
        accuracy for a conditional model."""
        from pipeline.kinds.sequence.metrics import declared

        return declared(conditional, source)

    def source_name(self, source: str) -> str:
        """The file's stem (or the embedded set's name)."""
        return Path(source).stem

    def prepare(self, cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
        """Read and check the sequences, split, fit the scaling on train, write the shards."""
        from pipeline.kinds.sequence.prepare import prepare_sequences

        return prepare_sequences(cfg, out_dir, root)

    def summary(self, schema: dict[str, Any]) -> str:
        """Counts, lengths, channels, classes."""
        from pipeline.kinds.sequence.prepare import summary

        return summary(schema)

    def fit_feature_space(self, prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
        """The sequence encoder whose features define fd_<source>."""
        from pipeline.kinds.sequence.classifier import fit_feature_space

        return fit_feature_space(prepared, cfg)

    def model_config(
        self, params: Params, schema: dict[str, Any], prepared: Path | str
    ) -> dict[str, Any]:
        """params.model plus the sequences' shape, lengths, classes and scaling."""
        from pipeline.kinds.sequence.model_config import model_config

        return model_config(params, schema)

    def rank_data(
        self,
        prepared_dir: str,
        model_config: dict[str, Any],
        train: TrainConfig,
        rank: int,
        world: int,
        device: torch.device,
    ) -> RankData:
        """Scaled, masked train sequences and their labels."""
        from pipeline.kinds.sequence.batches import SequenceBatches

        return SequenceBatches(prepared_dir, model_config, train, rank, world, device)

    def evaluate(
        self, params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
    ) -> Evaluation:
        """Discriminative, predictive, TSTR and shape scores against the holdout; the figure."""
        from pipeline.kinds.sequence.evaluate import evaluate_generator

        return evaluate_generator(params, schema, generator, root)

    def signature(self, generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
        """{n, seed[, label][, format]} -> float32 [n, T, C]."""
        from pipeline.kinds.sequence.serving import signature

        return signature(generator)

    def check_out(self, out: Path) -> None:
        """A .npy, .parquet or .csv file."""
        from pipeline.kinds.sequence.serving import check_out

        check_out(out)

    def sample_request(self, out: Path) -> dict[str, list]:
        """The long format for a table file."""
        from pipeline.kinds.sequence.serving import request

        return request(out)

    def write_samples(self, samples: Any, out: Path) -> str:
        """The array as .npy, or the long table as Parquet/CSV."""
        from pipeline.kinds.sequence.serving import write_samples

        return write_samples(samples, out)

    def augmenter(self) -> Augmenter:
        """`gan augment`: one .npz with a `synthetic` flag."""
        from pipeline.kinds.sequence import augment

        return augment  # a module with the Augmenter's functions

    def direction(self, key: str) -> Direction:
        """Scores and errors lower, TSTR accuracy higher."""
        from pipeline.kinds.sequence import metrics

        return metrics.direction(key)

    def review_metrics(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The TimeGAN scores, TSTR and the shape errors, each beside its references."""
        from pipeline.kinds.sequence import metrics

        return metrics.REVIEW

    def headline(self, metrics_: dict[str, Any], primary: str) -> list[str]:
        """The scores beside the real and shuffled sequences'."""
        from pipeline.kinds.sequence import metrics

        return metrics.headline(metrics_)

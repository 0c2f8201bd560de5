"""The image kind: scikit-learn's digits or a folder of PNG/JPEG; CNN or MLP pairs; FD and
friends in a domain classifier's features; a pyfunc of float32 image tensors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.kinds.base import Augmenter, DataKind, Evaluation, FeatureSpace, RankData

if TYPE_CHECKING:
    import torch
    from mlflow.models import ModelSignature

    from pipeline.config import DataConfig, EvaluateConfig, Params, TrainConfig
    from pipeline.metric_names import Direction


class ImageKind(DataKind):
    """Images (see the module docstring); each method imports its stage's module."""

    name = "image"
    noun = "images"
    schema_keys = ("image_size", "channels")
    architectures = ("dcgan", "resnet", "mlp")

    def check_params(self, params: Params) -> None:
        """Penalties need a D whose samples do not interact (no batch norm)."""
        m, t = params.model, params.train
        if (t.r1_gamma or t.gp_weight) and m.architecture == "dcgan" and not m.spectral_norm:
            # Batch norm couples the samples of a batch: the penalty is no longer per sample,
            # and under DDP it would depend on the number of workers.
            raise ValueError(
                "train.r1_gamma/gp_weight need a D without batch norm: with "
                "model.architecture dcgan set model.spectral_norm: true (it replaces D's BN)"
            )

    def metrics_written(
        self, source: str, feature_extractor: str, conditional: bool
    ) -> dict[str, Direction]:
        """FD family (also named for its feature space), KID, P/R, D/C, class coverage."""
        from pipeline.kinds.image import metrics

        return metrics.image_written(metrics.fd_key(source, feature_extractor), conditional)

    def gate_hint(self, metric: str, source: str, feature_extractor: str) -> str:
        """Advice for a label-accuracy gate without conditioning, or a source-named FD."""
        from pipeline.kinds.image import metrics

        return metrics.gate_hint(metric, source, feature_extractor)

    def older_metric(self, metric: str, source: str, feature_extractor: str) -> str | None:
        """fd -> fd_digits: what versions registered before the generic names carry."""
        from pipeline.kinds.image import metrics

        if metric not in metrics.FD_FAMILY:
            return None
        return metrics.source_named(metrics.fd_key(source, feature_extractor))[metric]

    def source_name(self, source: str) -> str:
        """The folder's name (or digits)."""
        return Path(source).name

    def prepare(self, cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
        """Decode, split and shard the images."""
        from pipeline.kinds.image.prepare import prepare_images

        return prepare_images(cfg, out_dir)

    def summary(self, schema: dict[str, Any]) -> str:
        """Counts, shape, classes and every skipped file."""
        from pipeline.kinds.image.prepare import summary

        return summary(schema)

    def fit_feature_space(self, prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
        """The domain classifier."""
        from pipeline.kinds.image.classifier import fit_feature_space

        return fit_feature_space(prepared, cfg)

    def model_config(
        self, params: Params, schema: dict[str, Any], prepared: Path | str
    ) -> dict[str, Any]:
        """params.model plus the images' shape and (conditional models) class count."""
        from pipeline.kinds.image.model_config import model_config

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
        """Image batches, class labels, the pixel-FD probe and the sample grid."""
        from pipeline.kinds.image.batches import ImageBatches

        return ImageBatches(prepared_dir, model_config, train, rank, world, device)

    def evaluate(
        self, params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
    ) -> Evaluation:
        """FD and friends against the holdout, and the sample grid."""
        from pipeline.kinds.image.evaluate import evaluate_generator

        return evaluate_generator(params, schema, generator, root)

    def signature(self, generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
        """{n, seed[, label]} -> float32 [n, C, H, W]."""
        from pipeline.kinds.image.serving import signature

        return signature(generator)

    def check_out(self, out: Path) -> None:
        """A folder of PNGs, a grid .png or a .npy."""
        from pipeline.kinds.image.serving import check_out

        check_out(out)

    def write_samples(self, samples: Any, out: Path) -> str:
        """PNGs, a grid or a .npy."""
        from pipeline.kinds.image.serving import write_samples

        return write_samples(samples, out)

    def augmenter(self) -> Augmenter:
        """`gan augment`: PNGs in a folder per class."""
        from pipeline.kinds.image import augment

        return augment  # a module with the Augmenter's functions

    def direction(self, key: str) -> Direction:
        """FD family, ratios and KID lower; precision, recall, coverage, accuracies higher."""
        from pipeline.kinds.image import metrics

        return metrics.direction(key)

    def review_metrics(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """FD and its ratio to the real-data floor, P/R, coverage, classes, label accuracy."""
        from pipeline.kinds.image import metrics

        return metrics.REVIEW

    def headline(self, metrics_: dict[str, Any], primary: str) -> list[str]:
        """FD against its floor, P/R, classes, KID, D/C, label accuracy."""
        from pipeline.kinds.image import metrics

        return metrics.headline(metrics_, primary)

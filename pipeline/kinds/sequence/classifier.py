"""The sequence encoder whose features define fd_<source>: trained on the train split by the
classifier stage (a plain dict checkpoint, loadable with torch.load(weights_only=True)), loaded
by evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganmodels.safeload import load_state
from ganmodels.sequence.encoder import SequenceEncoder, encoder_from_state, fit_encoder
from ganmodels.sequence.scaling import Scaling
from pipeline.data import read_schema
from pipeline.kinds.base import FeatureSpace
from pipeline.kinds.sequence.shards import load_split

if TYPE_CHECKING:
    from pipeline.config import EvaluateConfig

WIDTH = 32  # GRU units: about 5 s for 30 epochs of JapaneseVowels on 2 CPU cores


def train_tensors(prepared: Path | str) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """The train split in model space, its labels (None: unlabelled) and the class count."""
    schema = read_schema(prepared)
    values, labels = load_split(prepared, "train")
    x = torch.from_numpy(Scaling.from_dict(schema["scaling"]).to_model(values))
    k = int(schema["num_classes"]) if schema["labeled"] else 0
    return x, torch.from_numpy(labels) if k else None, k


def fit_feature_space(prepared: Path, cfg: EvaluateConfig) -> FeatureSpace:
    """Train the encoder: a classifier of the labels, or a next-step predictor without them."""
    schema = read_schema(prepared)
    x, y, k = train_tensors(prepared)
    enc, loss = fit_encoder(x, y, k, WIDTH, cfg.classifier_epochs, cfg.classifier_seed)
    task = f"{k} classes" if k else "next step (unlabelled)"
    metrics: dict[str, Any] = {"epochs": cfg.classifier_epochs, "final_loss": round(loss, 4)}
    if y is not None:
        with torch.no_grad():
            hits = enc.head(enc.features(x)).argmax(1) == y
        metrics["train_accuracy"] = round(float(hits.float().mean()), 4)
    checkpoint = {
        "config": enc.config,
        "state_dict": enc.state_dict(),
        "data_hash": schema["data_hash"],
        "class_names": schema["class_names"],
    }
    message = (
        f"classifier: sequence encoder ({task}), {cfg.classifier_epochs} epochs, loss {loss:.4f}"
    )
    return FeatureSpace(checkpoint, metrics, message)


def load_encoder(path: Path, schema: dict[str, Any]) -> SequenceEncoder:
    """The encoder the classifier stage saved, refused if trained on other data."""
    state = load_state(path, "sequence encoder")
    if state.get("data_hash") != schema["data_hash"]:
        raise ValueError(
            f"{path} was trained on other data (hash {str(state.get('data_hash'))[:12]}, "
            f"prepared data is {schema['data_hash'][:12]}): rerun `dvc repro classifier`"
        )
    return encoder_from_state(state)

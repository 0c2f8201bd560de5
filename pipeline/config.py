"""Typed, validated view of params.yaml: the only home of defaults.

Every section is a frozen pydantic model that forbids unknown keys and does no type coercion,
so a typo or a wrong type fails loudly with the dotted key in the message.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class PipelineError(RuntimeError):
    """A stage failed for a reason the user can act on (the message says which)."""


class ConfigError(ValueError):
    """params.yaml is missing, malformed, or names an unknown or invalid key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataConfig(_Section):
    """Where the images come from and how they are normalised."""

    source: str = Field(min_length=1)
    image_size: int = Field(ge=8, le=512)
    channels: Literal[1, 3]
    holdout_fraction: float = Field(gt=0.0, lt=1.0)
    split_seed: int
    rows_per_shard: int = Field(ge=1)
    on_bad_file: Literal["fail", "skip"]

    @model_validator(mode="after")
    def _power_of_two(self) -> DataConfig:
        if self.image_size & (self.image_size - 1):
            raise ValueError(f"data.image_size must be a power of two, got {self.image_size}")
        return self


class ModelConfig(_Section):
    """Network family and sizes; passed verbatim to ganmodels.build_*."""

    architecture: Literal["dcgan"]
    z_dim: int = Field(ge=1)
    g_channels: int = Field(ge=1)
    d_channels: int = Field(ge=1)


class TrainConfig(_Section):
    """Optimisation, distribution and checkpointing of the train stage."""

    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    num_workers: int = Field(ge=1)
    use_gpu: Literal["auto"] | bool
    lr: float = Field(gt=0.0)
    beta1: float = Field(ge=0.0, lt=1.0)
    beta2: float = Field(ge=0.0, lt=1.0)
    ema_decay: float = Field(ge=0.0, lt=1.0)
    seed: int
    log_every: int = Field(ge=1)
    sample_every: int = Field(ge=1)
    checkpoint_every: int = Field(ge=1)
    keep_checkpoints: int = Field(ge=1)
    storage_path: str = Field(min_length=1)
    experiment_name: str = Field(min_length=1)

    @model_validator(mode="after")
    def _divisible(self) -> TrainConfig:
        if self.batch_size % self.num_workers:
            raise ValueError(
                f"train.batch_size ({self.batch_size}) must be divisible by "
                f"train.num_workers ({self.num_workers})"
            )
        return self


class EvaluateConfig(_Section):
    """Sample-quality metrics and the domain classifier that provides their features."""

    num_samples: int = Field(ge=10)
    seed: int
    knn_k: int = Field(ge=1)
    coverage_threshold: float = Field(gt=0.0, lt=1.0)
    classifier_epochs: int = Field(ge=1)
    classifier_seed: int


class RegisterConfig(_Section):
    """MLflow registry name and promotion gate."""

    model_name: str = Field(min_length=1)
    primary_metric: str = Field(min_length=1)
    higher_is_better: bool
    min_improvement: float = Field(ge=0.0, lt=1.0)


# A field named "register" shadows ABCMeta.register on the class only; instances are unaffected.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class Params(_Section):
    """The whole params.yaml."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    evaluate: EvaluateConfig
    register: RegisterConfig


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader reading floats as YAML 1.2 does: PyYAML alone takes `1e-07` (as written by
    `dvc exp run -S train.lr=0.0000001`) for a string."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def parse_params(raw: Any, origin: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; errors name every bad dotted key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _key(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            lines.append(f"  {key}: {msg}")
        raise ConfigError(f"{origin}: invalid params\n" + "\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and validate params.yaml (the only place defaults live)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not found (run from the project root)")
    try:
        raw = yaml.load(path.read_text(), Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, str(path))


def params_hash(*sections: BaseModel) -> str:
    """Stable short hash of config sections (run identity, registry tags)."""
    blob = json.dumps([s.model_dump(mode="json") for s in sections], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

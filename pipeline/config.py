"""Typed, validated view of params.yaml, the only home of defaults: frozen pydantic models that
forbid unknown keys and coerce no types, so a typo or a wrong type fails naming its dotted key."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline import kinds, metric_names, params_fill
from pipeline.errors import ConfigError, PipelineError
from pipeline.kinds.tabular.columns import ColumnSpec, as_specs, off_or_most

__all__ = ["ConfigError", "PipelineError"]  # re-exported: raised by params loading


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataConfig(_Section):
    """Where the images or the table come from and how they are normalised."""

    kind: str  # a name in pipeline.kinds.KINDS
    source: str = Field(min_length=1)
    image_size: int = Field(ge=8, le=512)
    channels: Literal[1, 3]
    holdout_fraction: float = Field(gt=0.0, lt=1.0)
    validation_fraction: float = Field(ge=0.0, lt=1.0)
    split_seed: int
    rows_per_shard: int = Field(ge=1)
    on_bad_file: Literal["fail", "skip"]
    label: str | None
    columns: dict[str, ColumnSpec]
    max_categories: int = Field(ge=2)
    max_modes: int = Field(ge=1)
    fit_rows: int = Field(ge=100)
    step_share: float = Field(gt=0.5, le=1.0)
    heap_share: float = Field(gt=0.0, lt=1.0)
    max_levels: int = Field(ge=0)
    support_share: float = Field(gt=0.0, le=1.0)
    find_derived: bool
    implication_share: float = Field(ge=0.0, le=1.0)
    order_share: float = Field(ge=0.0, le=1.0)
    find_bounds: bool
    id_column: str | None  # sequences (see params.yaml): the long format's sequence id,
    time_column: str | None  # the order within one, and windows of one long series
    window: int | None = Field(ge=2)
    stride: int = Field(ge=1)
    static_columns: list[str]  # sequences: per-sequence attributes G generates too

    _specs = field_validator("columns", mode="before")(as_specs)
    _share = field_validator("implication_share", "order_share")(off_or_most)

    @model_validator(mode="after")
    def _power_of_two(self) -> DataConfig:
        if self.kind not in kinds.NAMES:
            raise ValueError(
                f"data.kind {self.kind!r} is not a known kind ({', '.join(kinds.NAMES)})"
            )
        if self.image_size & (self.image_size - 1):
            raise ValueError(f"data.image_size must be a power of two, got {self.image_size}")
        if clash := set(self.static_columns) & {self.id_column, self.time_column, self.label}:
            raise ValueError(f"data.static_columns {sorted(clash)}: also id/time/label columns")
        return self


class ModelConfig(_Section):
    """Network family and sizes; passed to ganmodels.build_* (with the data's shape)."""

    preset: str | None
    architecture: str  # one the data kind trains (checked with data.kind)
    conditional: bool
    spectral_norm: bool
    z_dim: int = Field(ge=1)
    g_channels: int = Field(ge=1)
    d_channels: int = Field(ge=1)
    condition_modes: bool  # tables: also condition on numeric columns' modes (CTAB-GAN)
    aux_classifier: float = Field(ge=0.0)  # tables: weight of D's label classifier (0: none)
    calibrate: bool  # tables: samplers weight rows to the train shares, map values per mode
    label_raking: bool  # tables: calibration also rakes data.label crossed with each column
    step_noise: int | None = Field(ge=0)  # sequences: G's per-step noise dims (None: the arch's)
    smoothing: int | None = Field(ge=0)  # sequences: [1,2,1]/4 passes over G's output (None: 0)
    polynomial: int | None = Field(ge=0)  # sequences: G's output in polynomials of degree < K
    oscillators: int | None = Field(ge=0)  # sequences: G a bank of K sinusoids per channel

    @field_validator("architecture")
    @classmethod
    def _known(cls, value: str) -> str:
        # Any kind's here (reported with the other keys' errors); the kind's own, with data.kind.
        known = [a for kind in kinds.KINDS.values() for a in kind.architectures]
        if value not in known:
            raise ValueError(f"{value!r} is not an architecture (known: {', '.join(known)})")
        return value


Augmentation = Literal["translation", "cutout", "color"]


class TrainConfig(_Section):
    """Objective, regularizers, optimisation, distribution and checkpointing of the train stage."""

    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    num_workers: int = Field(ge=1)
    use_gpu: Literal["auto"] | bool
    in_process: bool
    objective: Literal["bce", "hinge", "wgan", "lsgan"]
    lr_g: float = Field(gt=0.0)
    lr_d: float = Field(gt=0.0)
    beta1: float = Field(ge=0.0, lt=1.0)
    beta2: float = Field(ge=0.0, lt=1.0)
    d_steps: int = Field(ge=1)
    r1_gamma: float = Field(ge=0.0)
    r1_interval: int = Field(ge=1)
    gp_weight: float = Field(ge=0.0)
    label_share: float | None = Field(ge=0.0, le=1.0)
    ema_decay: float = Field(ge=0.0, lt=1.0)
    ema_rampup: bool  # cap the decay at (1 + step) / (10 + step) early on
    augment: list[Augmentation]
    augment_p: float = Field(ge=0.0, le=1.0)
    ada_target: float = Field(ge=0.0, lt=1.0)
    ada_interval: int = Field(ge=1)
    ada_speed_images: int = Field(ge=1)
    moment_weight: float = Field(ge=0.0)  # TimeGAN's moment loss in G's (0 = off)
    bf16: bool
    compile: bool
    channels_last: bool
    stop_on_collapse: bool
    collapse_window: int = Field(ge=0)
    on_divergence: Literal["stop", "rollback"]
    max_rollbacks: int = Field(ge=0)
    rollback_lr_factor: float = Field(gt=0.0, le=1.0)
    max_failures: int = Field(ge=-1)
    seed: int
    log_every: int = Field(ge=1)
    sample_every: int = Field(ge=1)
    checkpoint_every: int = Field(ge=1)
    keep_checkpoints: int = Field(ge=1)
    checkpoint_upload: Literal["sync", "async"]
    keep_best: bool
    export: Literal["final", "best"]
    storage_path: str = Field(min_length=1)
    experiment_name: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.batch_size % self.num_workers:
            raise ValueError(
                f"train.batch_size ({self.batch_size}) must be divisible by "
                f"train.num_workers ({self.num_workers})"
            )
        if (self.ada_target or self.augment_p) and not self.augment:
            raise ValueError("train.ada_target/augment_p > 0 need augmentations in train.augment")
        if self.export == "best" and not self.keep_best:
            raise ValueError("train.export: best needs train.keep_best: true")
        if self.compile and (self.r1_gamma or self.gp_weight):
            # AOTAutograd has no double backward, which R1 and the gradient penalty need.
            raise ValueError("train.compile cannot be combined with train.r1_gamma/gp_weight")
        return self


class EvaluateConfig(_Section):
    """Sample-quality metrics and the domain classifier that provides their features."""

    num_samples: int = Field(ge=10)
    seed: int
    knn_k: int = Field(ge=1)
    coverage_threshold: float = Field(gt=0.0, lt=1.0)
    density_k: int = Field(ge=1)
    kid_subsets: int = Field(ge=1)
    kid_subset_size: int = Field(ge=2)
    feature_extractor: Literal["classifier", "inception"]
    inception_weights: str = Field(min_length=1)
    classifier_epochs: int = Field(ge=1)
    classifier_seed: int
    posthoc_steps: int = Field(ge=1)  # sequences: steps and seeds of the post-hoc GRUs
    posthoc_repeats: int = Field(ge=1)
    posthoc_max_steps: int = Field(ge=2)  # longer sequences are mean-pooled for them
    imbalanced_below: float = Field(ge=0.0, le=0.5)  # tables: the oversampler comparison

    @model_validator(mode="after")
    def _enough_samples(self) -> EvaluateConfig:
        k = max(self.knn_k, self.density_k)
        if k >= self.num_samples:  # a k-NN ball needs k neighbours besides the row itself
            msg = "must be below evaluate.num_samples"
            raise ValueError(f"evaluate.knn_k/density_k ({k}) {msg} ({self.num_samples})")
        return self


class RegisterConfig(_Section):
    """MLflow registry name and promotion gate."""

    model_name: str = Field(min_length=1)
    primary_metric: str = Field(min_length=1)
    higher_is_better: bool
    min_improvement: float = Field(ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _registrable(self) -> RegisterConfig:
        name, room = self.model_name, 256 - len(LOCK_SUFFIX)  # the lock is a model too
        bad = sorted({c for c in name if c in "/:@'\""})
        if bad or not name.strip() or name.startswith(".") or len(name) > room:
            raise ValueError(
                f"register.model_name {name!r} is not a name MLflow registers and serves "
                f"(models:/<name>@champion): no {' '.join(bad) or '/ : @ quotes'}, not blank "
                f"or starting with '.', at most {room} characters"
            )
        return self


# "register" shadows ABCMeta.register on the class only (instances are unaffected).
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class Params(_Section):
    """The whole params.yaml (kind defaults and presets already folded into the sections)."""

    presets: dict[str, dict[str, dict[str, Any]]]
    kinds: dict[str, dict[str, dict[str, Any]]]
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    evaluate: EvaluateConfig
    register: RegisterConfig

    @model_validator(mode="after")
    def _across_sections(self) -> Params:
        d, m, r = self.data, self.model, self.register
        kind = kinds.get(d.kind)
        if m.architecture not in kind.architectures:
            fits = ", ".join(n for n, k in kinds.KINDS.items() if m.architecture in k.architectures)
            raise ValueError(
                f"model.architecture {m.architecture} does not fit data.kind {d.kind}: "
                f"{d.kind} trains {'/'.join(kind.architectures)}"
                + (f" ({m.architecture} is for data.kind {fits})" if fits else "")
            )
        kind.check_params(self)
        extractor = self.evaluate.feature_extractor
        gate = (r.primary_metric, r.higher_is_better)
        metric_names.check_gate(kind, d.source, extractor, m.conditional, *gate)
        return self


LOCK_SUFFIX = ".promotion-lock"  # <model_name><this>: registry_lock's promotion lock (a model)
_PRESET_SECTIONS = {"model": ModelConfig, "train": TrainConfig}
_KIND_SECTIONS = {"data": DataConfig, "model": ModelConfig, "register": RegisterConfig}


def apply_kind(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill null data/model/register keys from `kinds`, by data.kind (before the preset)."""
    return params_fill.apply_kind(raw, _KIND_SECTIONS)


def parse_params(raw: Any, origin: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; errors name every bad dotted key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        filled = params_fill.apply_preset(apply_kind(raw), _PRESET_SECTIONS)
        resolved = params_fill.apply_model_name(filled)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    try:
        return Params.model_validate({"presets": {}, "kinds": {}, **resolved})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "<root>"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err.get("input", 0) is None:
                msg = "null: set it here, or in the model.preset or data.kind that fills it"
            lines.append(f"  {key}: {msg}")
        raise ConfigError(f"{origin}: invalid params\n" + "\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and validate params.yaml (the only place defaults live)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not found (run from the project root)")
    try:
        raw = yaml.load(path.read_text(), Loader=params_fill.Yaml12Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, str(path))


def params_hash(*sections: BaseModel) -> str:
    """Stable short hash of config sections (run identity, registry tags)."""
    blob = json.dumps([s.model_dump(mode="json") for s in sections], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]

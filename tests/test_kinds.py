"""The kinds' dispatch point: each thing names its kind (a data set, a generator file, a
registered model, a version's metrics), and what was made before kinds were recorded is told
apart or refused by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model, infer_signature
from mlflow.models.signature import ModelSignature
from mlflow.types import Schema, TensorSpec

from ganmodels.image import nets as image_nets
from ganmodels.sequence import nets as sequence_nets
from ganmodels.tabular import nets as tabular_nets
from pipeline import kinds

REPO = Path(__file__).resolve().parents[1]


def test_each_kind_trains_the_architectures_its_networks_build() -> None:
    assert kinds.get("image").architectures == image_nets.ARCHITECTURES
    assert kinds.get("tabular").architectures == tabular_nets.ARCHITECTURES
    assert kinds.get("sequence").architectures == sequence_nets.ARCHITECTURES


def test_a_generator_exported_before_kinds_were_recorded_is_refused_by_name() -> None:
    old = {"model_config": {"architecture": "dcgan", "z_dim": 8}, "state_dict": {}}
    with pytest.raises(ValueError, match=r"generator file g\.pt has no data kind .*dvc repro"):
        kinds.for_generator(old, "generator file g.pt")
    assert kinds.for_generator({"model_config": {"kind": "tabular"}}) is kinds.get("tabular")


def test_a_registered_model_tells_its_kind_by_metadata_or_by_its_output() -> None:
    images = ModelSignature(outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 1, 8, 8))]))
    rows = infer_signature(model_output=pd.DataFrame({"island": ["Dream"], "mass": [3.5]}))

    class Loaded:  # what mlflow.pyfunc.load_model returns, as far as the kind is concerned
        def __init__(self, model: Model) -> None:
            self.metadata = model

    # Registered before kinds were recorded: the output says.
    assert kinds.for_model(Loaded(Model(signature=images))) is kinds.get("image")
    assert kinds.for_model(Loaded(Model(signature=rows))) is kinds.get("tabular")
    recorded = Model(signature=images, metadata={kinds.KIND_METADATA: "tabular"})
    assert kinds.for_model(Loaded(recorded)) is kinds.get("tabular")


def test_gan_sample_imports_no_ganmodels_before_loading_the_model() -> None:
    # A registered model ships its own ganmodels, which MLflow puts on the path at load: one
    # imported before would shadow it (and an older model's code would not find its names).
    code = (
        "import sys, pipeline.cli, pipeline.sample\n"
        # What it writes with, after loading: the loaded model's ganmodels is the one in use.
        "import pipeline.kinds.image.serving, pipeline.kinds.tabular.serving\n"
        "import pipeline.kinds.sequence.serving\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'ganmodels')\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize(
    ("kind", "key", "way"),
    [
        ("image", "fd", "lower"),
        ("image", "fd_digits", "lower"),
        ("image", "fd_digits_ratio", "lower"),
        ("image", "fd_digits_floor", None),
        ("image", "per_class.3.fd", "lower"),
        ("image", "per_class.3.accuracy", "higher"),
        ("image", "label_accuracy_min", "higher"),
        ("image", "kid_std", None),
        ("tabular", "quality_score", "higher"),
        ("tabular", "per_column.island", "higher"),
        ("tabular", "ml_efficacy.f1_synthetic", "higher"),
        ("tabular", "detection_auc", "lower"),
        ("tabular", "real_quality_score", None),
        ("tabular", "dcr.ratio", None),
        ("sequence", "discriminative_score", "lower"),
        ("sequence", "tstr_accuracy", "higher"),
        ("sequence", "real_discriminative_score", None),
    ],
)
def test_review_reads_each_metrics_direction_from_its_kind(kind: str, key: str, way: str) -> None:
    assert kinds.get(kind).direction(key) == way

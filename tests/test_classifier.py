"""Domain classifier: network shapes, deterministic fit, the classifier stage and its checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from ganmodels.image.classifier import (
    FEATURE_DIM,
    DomainClassifier,
    accuracy,
    embed,
    fit_classifier,
)
from pipeline import classifier as stage
from pipeline.config import DataConfig, EvaluateConfig, load_params
from pipeline.data import read_schema
from pipeline.kinds.image import classifier as image_clf
from pipeline.kinds.image.shards import load_split
from pipeline.prepare import prepare
from tests.helpers import data_config

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 6  # far fewer than params.yaml's default; digits still clear 0.9 holdout accuracy


def _data_config(source: str) -> DataConfig:
    return data_config(
        source=source,
        image_size=8,
        channels=1,
        holdout_fraction=0.2,
        split_seed=0,
        rows_per_shard=1024,
        on_bad_file="fail",
    )


def _eval_config(epochs: int = EPOCHS) -> EvaluateConfig:
    return load_params(ROOT / "params.yaml").evaluate.model_copy(
        update={"classifier_epochs": epochs, "classifier_seed": 0}
    )


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    # These nets are tiny: one thread is as fast as two on an idle machine, and it avoids the
    # 10-20x OpenMP slowdown seen when other processes (e.g. a Ray train run) share the cores.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared")
    prepare(_data_config("digits"), out)
    return out


@pytest.fixture(scope="module")
def trained(digits_dir: Path) -> tuple[dict, dict]:
    return image_clf.train_classifier(digits_dir, _eval_config())


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (3, 16), (1, 32)])
def test_shapes_for_power_of_two_sizes(channels: int, size: int) -> None:
    model = DomainClassifier(channels, size, num_classes=7).eval()
    x = torch.rand(5, channels, size, size) * 2 - 1
    assert model.features(x).shape == (5, FEATURE_DIM)
    assert model(x).shape == (5, 7)
    feats, probs = embed(model, x, batch_size=2)
    assert feats.shape == (5, FEATURE_DIM)
    assert torch.allclose(probs.sum(dim=1), torch.ones(5))


def test_rejects_bad_sizes_and_inputs() -> None:
    with pytest.raises(ValueError, match="power of two"):
        DomainClassifier(1, 12, 10)
    with pytest.raises(ValueError, match="power of two"):
        DomainClassifier(1, 4, 10)
    with pytest.raises(ValueError, match=r"expected images \[N, 1, 8, 8\]"):
        DomainClassifier(1, 8, 10).features(torch.zeros(2, 3, 8, 8))


def test_fit_is_deterministic_and_leaves_global_rng_alone() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(96, 1, 8, 8, generator=gen) * 2 - 1, torch.arange(96) % 3
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = DomainClassifier(1, 8, 3, width=8)
        state = torch.get_rng_state()
        losses = fit_classifier(model, x, y, epochs=2, batch_size=32, lr=1e-3, seed=7)
        assert torch.equal(torch.get_rng_state(), state)
        assert not model.training
        runs.append((losses, model(x).detach()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_fit_rejects_unlabeled_rows() -> None:
    model = DomainClassifier(1, 8, 3, width=8)
    with pytest.raises(ValueError, match="-1 = unlabeled"):
        fit_classifier(model, torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, -1, 2]), 1, 2, 1e-3, 0)


def test_stage_reaches_holdout_accuracy(digits_dir: Path, trained: tuple[dict, dict]) -> None:
    checkpoint, metrics = trained
    assert metrics["classifier_holdout_accuracy"] >= 0.9
    assert metrics["classifier_train_accuracy"] >= 0.9
    assert metrics["epochs"] == EPOCHS
    schema = read_schema(digits_dir)
    assert checkpoint["config"] == {
        "in_channels": 1,
        "image_size": 8,
        "num_classes": 10,
        "width": image_clf.WIDTH,
    }
    assert checkpoint["class_names"] == [str(i) for i in range(10)]
    assert checkpoint["data_hash"] == schema["data_hash"]


def test_checkpoint_round_trip(
    digits_dir: Path, trained: tuple[dict, dict], tmp_path: Path
) -> None:
    checkpoint, metrics = trained
    path = tmp_path / "models" / "classifier.pt"
    stage.save_checkpoint(checkpoint, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["classifier.pt"]  # no temp left
    assert set(torch.load(path, weights_only=True)) == set(image_clf.CHECKPOINT_KEYS)

    loaded, loaded_ckpt = image_clf.load_classifier(path)
    assert not loaded.training
    assert loaded_ckpt["data_hash"] == checkpoint["data_hash"]
    in_memory = DomainClassifier(**checkpoint["config"])
    in_memory.load_state_dict(checkpoint["state_dict"])
    in_memory.eval()

    images, labels = load_split(digits_dir, "holdout")
    x, y = image_clf.to_tensor(images), torch.from_numpy(labels)
    with torch.no_grad():
        assert torch.equal(loaded(x), in_memory(x))
        assert torch.equal(loaded.features(x), in_memory.features(x))
    # The saved weights are the trained ones: they reproduce the reported accuracy exactly.
    assert accuracy(loaded, x, y) == metrics["classifier_holdout_accuracy"]


def test_stage_is_reproducible(digits_dir: Path) -> None:
    first, metrics = image_clf.train_classifier(digits_dir, _eval_config(epochs=1))
    second, _ = image_clf.train_classifier(digits_dir, _eval_config(epochs=1))
    for key, value in first["state_dict"].items():
        assert torch.equal(value, second["state_dict"][key]), key
    assert metrics["epochs"] == 1


def test_unlabeled_data_is_rejected(tmp_path: Path) -> None:
    src = tmp_path / "flat"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(10):  # images directly in the folder: no class subfolders, so unlabeled
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), mode="L").save(
            src / f"img{i}.png"
        )
    prepared = tmp_path / "prepared"
    prepare(_data_config(str(src)), prepared)
    assert read_schema(prepared)["labeled"] is False
    with pytest.raises(ValueError, match="needs class labels"):
        image_clf.train_classifier(prepared, _eval_config())


def test_main_writes_checkpoint_and_metrics(
    digits_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = yaml.safe_load(ROOT.joinpath("params.yaml").read_text())
    params["evaluate"]["classifier_epochs"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(stage.paths, "PREPARED", digits_dir)
    stage.main("params.yaml")

    assert "holdout acc" in capsys.readouterr().out
    model, _ = image_clf.load_classifier(Path("models/classifier.pt"))
    assert isinstance(model, DomainClassifier)
    metrics = json.loads(Path("metrics/classifier.json").read_text())
    assert set(metrics) == {
        "classifier_train_accuracy",
        "classifier_holdout_accuracy",
        "epochs",
    }
    assert metrics["epochs"] == 1

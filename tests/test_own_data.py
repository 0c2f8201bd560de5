"""A newcomer's own data, end to end: `dvc repro` on a folder of RGB images and on a CSV with only
data.source (and the image size, channels or data.kind) set beyond tiny speed settings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from pipeline.cli import main
from tests.browser import layout, on_first_screen, page_requests
from tests.helpers import BABY, BIN, clean_env, copy_project, merge, write_params

# Speed only: a few steps on one worker, a small evaluation (these keys change no defaults
# that register depends on).
FAST = merge(
    BABY,
    {
        "train": {
            "steps": 4,
            "batch_size": 8,
            "log_every": 2,
            "checkpoint_every": 4,
            "sample_every": 4,
            "num_workers": 1,
        },
        "evaluate": {"num_samples": 20, "classifier_epochs": 1, "kid_subsets": 10},
    },
)


def _photos(root: Path) -> None:
    """Two class folders of 12x12 RGB photos (mostly red vs mostly blue), PNG and JPEG."""
    rng = np.random.default_rng(0)
    for label, channel in (("cats", 0), ("dogs", 2)):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(16):
            pixels = rng.integers(0, 90, (12, 12, 3), dtype=np.uint8)
            pixels[..., channel] += 160
            Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")


def _loans(path: Path) -> None:
    """A 200-row table: two numeric columns, two categorical ones."""
    rng = np.random.default_rng(0)
    grade = rng.choice(["A", "B", "C"], 200)
    pd.DataFrame(
        {
            "amount": rng.lognormal(9, 0.5, 200).round(2),
            "income": (rng.normal(50, 10, 200) + (grade == "A") * 20).round(1),
            "grade": grade,
            "term": rng.choice(["36m", "60m"], 200),
        }
    ).to_csv(path, index=False)


def _repro(root: Path) -> subprocess.Popen[bytes]:
    """`dvc repro` started in the project, its output to <name>-repro.log beside it (the two
    projects run side by side)."""
    with (root.parent / f"{root.name}-repro.log").open("wb") as log:
        return subprocess.Popen(
            [str(BIN / "dvc"), "repro"], cwd=root, env=clean_env(), stdout=log, stderr=log
        )


def _registered(root: Path) -> tuple[dict, dict, dict[str, str]]:
    """(metrics/register.json, metrics/eval.json, the champion's tags) of a finished run."""
    reg = json.loads((root / "metrics/register.json").read_text())
    ev = json.loads((root / "metrics/eval.json").read_text())
    uri = f"sqlite:///{root / 'mlflow.db'}"
    cli = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return reg, ev, cli.get_model_version_by_alias(reg["model_name"], "champion").tags


def test_own_images_and_own_table_register_under_their_own_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = copy_project(tmp_path / "images")
    _photos(images / "data" / "My Photos")
    own = {"data": {"source": "data/My Photos", "image_size": 8, "channels": 3}}
    write_params(images / "params.yaml", FAST, own)
    table = copy_project(tmp_path / "table")
    (table / "data").mkdir()
    _loans(table / "data" / "loans.csv")
    # Tables: a per-worker batch of whole PacGAN packs that fits 160 train rows.
    fast_table = merge(FAST, {"train": {"batch_size": 50}})
    own = {"data": {"kind": "tabular", "source": "data/loans.csv"}}
    write_params(table / "params.yaml", fast_table, own)

    runs = {root: _repro(root) for root in (images, table)}
    for root, proc in runs.items():
        proc.wait(timeout=600)
        out = (root.parent / f"{root.name}-repro.log").read_text()
        assert proc.returncode == 0, f"dvc repro in {root.name} failed:\n{out}"
        assert "Running stage 'register'" in out

    reg, ev, tags = _registered(images)
    assert reg["alias"] == "champion" and reg["model_name"] == "gan-my-photos"
    assert reg["primary_metric"] == "fd"  # named alike for every source
    assert ev["fd"] == ev["fd_my_photos"] == reg["value"]  # the source-named key stays beside it
    assert ev["fd_ratio"] == ev["fd_my_photos_ratio"] and "label_accuracy" in ev  # 2 classes
    assert tags["primary_metric"] == "fd" and float(tags["metric.fd"]) == ev["fd"]

    reg, ev, tags = _registered(table)
    assert reg["alias"] == "champion" and reg["model_name"] == "gan-loans"
    assert reg["primary_metric"] == "quality_score" and ev["quality_score"] == reg["value"]
    assert float(tags["metric.quality_score"]) == ev["quality_score"]

    # The table's review page, one version shown alone: the verdict and its figure (each
    # column's real vs synthetic shares, then the pair-trend map) load, from no network.
    monkeypatch.chdir(table)
    assert main(["review", "--html", "review.html"]) == 0
    ids = ("verdict", "grid-a", "figure-0", "figure-1")
    probe = layout(table / "review.html", tmp_path / "probed.html", ids)
    assert "Only one version is registered: v1" in probe["text"]["verdict"]
    assert on_first_screen(probe["boxes"]["verdict"]) and on_first_screen(probe["boxes"]["grid-a"])
    assert {i for i, ok, w in probe["images"] if ok and w > 0} >= {"grid-a", "figure-0", "figure-1"}
    page = (table / "review.html").read_text()
    assert "Columns: real vs A vs B" in page and "Pair trends" in page
    assert page_requests(table / "review.html", tmp_path / "net.json", tmp_path / "s.png") == []

"""The real thing: `dvc repro` in a temporary git repo with real Ray, MLflow (SQLite) and DVC."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipeline.cli import main
from pipeline.tracking import active_tracking
from tests.helpers import BABY, BIN, clean_env, write_params


def _run(root: Path, tool: str, *args: str) -> str:
    """Run a venv tool in the project; its stdout+stderr, asserting success."""
    proc = subprocess.run(
        [str(BIN / tool), *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{tool} {' '.join(args)} failed:\n{out}"
    return out


def _dvc(root: Path, *args: str) -> str:
    return _run(root, "dvc", *args)


def test_dvc_repro_registers_and_gates(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A class-conditional model: the label paths (training, per-class metrics, pyfunc, sample).
    # Long: one scenario on one repo, each step on the last one's outs (a dvc repro costs a
    # minute: splitting it would repeat them).
    write_params(project / "params.yaml", BABY, {"model": {"conditional": True}})
    out = _dvc(project, "repro")
    for stage in ("prepare", "classifier", "train", "evaluate", "register"):
        assert f"Running stage '{stage}'" in out

    reg = json.loads((project / "metrics/register.json").read_text())
    assert reg["alias"] == "champion" and reg["version"] == 1
    ev = json.loads((project / "metrics/eval.json").read_text())
    assert {"fd", "fd_floor", "precision", "recall", "class_coverage"} <= set(ev)
    assert ev["fd_digits"] == ev["fd"] and ev["fd_digits_floor"] == ev["fd_floor"]
    assert {"kid", "density", "coverage", "num_samples", "label_accuracy"} <= set(ev)
    assert 0 <= ev["membership_auc"] <= 1 and 0 <= ev["copy_rate"] <= 1  # pixel space
    gain = ev["augmentation"]  # a conditional G: its samples offered to a fresh classifier
    assert gain["ratio"] in (0, 0.25, 0.5, 1, 2) and 0 <= gain["real"] <= 1
    assert gain["gain"] == pytest.approx(gain["augmented"] - gain["real"], abs=2e-4)
    assert sorted(ev["per_class"], key=int) == [str(k) for k in range(10)]
    assert ev["per_class"]["3"]["num_samples"] == 20  # 200 samples, balanced over 10 labels
    assert (project / "plots/samples.png").stat().st_size > 0
    assert (project / "plots/losses.csv").read_text().startswith("step,D_main,D_reg,G_main")

    uri = f"sqlite:///{project / 'mlflow.db'}"
    cli = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = cli.get_model_version_by_alias("gan-digits", "champion")
    schema = json.loads((project / "data/prepared/schema.json").read_text())
    assert mv.tags["data_hash"] == schema["data_hash"]
    assert mv.tags["primary_metric"] == "fd"  # the gate: named alike for every source
    assert float(mv.tags["metric.fd"]) == float(mv.tags["metric.fd_digits"]) == ev["fd"]
    assert len(mv.tags["params_hash"]) == 16
    # dvc repro rewrote dvc.lock while it ran: not a change of code. The test's params.yaml is.
    assert mv.tags["git_commit"].endswith("-dirty") and len(mv.tags["git_commit"]) == 46
    assert mv.tags["git_changes"] == "params.yaml"
    assert f"`fd` = {ev['fd']:.4g}" in mv.description and "**Gate:** @champion" in mv.description
    assert mv.tags["gate.verdict"] == "champion" and mv.tags["sample_seed"] == "1234"
    run = cli.get_run(mv.run_id)
    assert run.data.params["train.steps"] == "60"
    assert "eval/fd_digits" in run.data.metrics and "loss/G_main" in run.data.metrics
    assert "eval/per_class/3/accuracy" in run.data.metrics
    assert float(mv.tags["metric.per_class.3.accuracy"]) == ev["per_class"]["3"]["accuracy"]

    # The pyfunc contract, from the registry, by alias.
    with active_tracking(uri):
        model = mlflow.pyfunc.load_model("models:/gan-digits@champion")
    a = model.predict(pd.DataFrame({"n": [64], "seed": [0]}))
    b = model.predict(pd.DataFrame({"n": [64], "seed": [0]}))
    c = model.predict(pd.DataFrame({"n": [64], "seed": [1]}))
    assert a.dtype == np.float32 and a.shape == (64, 1, 8, 8)
    assert a.min() >= 0.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    three = model.predict(pd.DataFrame({"n": [8], "seed": [0], "label": [3]}))
    four = model.predict(pd.DataFrame({"n": [8], "seed": [0], "label": [4]}))
    assert three.shape == (8, 1, 8, 8) and not np.array_equal(three, four)

    # Nothing changed: DVC has nothing to do.
    assert "Data and pipelines are up to date" in _dvc(project, "repro")

    # A run made worse on purpose (a learning rate that barely moves G) stays challenger.
    out = _dvc(project, "exp", "run", "-S", "train.lr_g=0.0000001")
    assert "Running stage 'train'" in out and "Running stage 'register'" in out
    assert "Running stage 'prepare'" not in out and "Running stage 'classifier'" not in out
    reg2 = json.loads((project / "metrics/register.json").read_text())
    assert reg2["version"] == 2 and reg2["alias"] == "challenger"
    assert reg2["value"] > reg["value"]
    champ = cli.get_model_version_by_alias("gan-digits", "champion")
    assert int(champ.version) == 1
    assert int(cli.get_model_version_by_alias("gan-digits", "challenger").version) == 2
    # Both trainings are separate MLflow runs of one experiment.
    assert cli.get_model_version("gan-digits", "2").run_id != mv.run_id

    # Review, summary, plots and sample work on the same store: the `gan` commands, in this
    # process (each console-script start would import torch and MLflow again, seconds apiece;
    # tests/test_cli.py runs the console script itself).
    monkeypatch.chdir(project)

    def gan(*args: str) -> str:
        code = main(list(args))
        out = capsys.readouterr()
        assert code == 0, f"gan {' '.join(args)} failed:\n{out.out}{out.err}"
        return out.out + out.err

    review = gan("review")
    assert "A: v1" in review and "B: v2" in review
    assert "@champion" in review and "@challenger" in review
    assert "gate: B would not become champion" in review  # the decision leads
    fd_row = next(line for line in review.splitlines() if line.startswith("  fd "))
    assert "B worse (lower is better)" in fd_row  # the champion has the better (lower) FD
    assert "train.lr_g" in review  # the one param that differs
    assert "stays @challenger" in gan("summary")
    gan("review", "--html", "review/page.html")
    page = (project / "review/page.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<svg" in page  # grids + curves inline
    assert "train.lr_g" in page
    assert re.search(r"(src|href)=[\"']https?:", page) is None  # nothing loaded from the network
    v2 = cli.get_model_version("gan-digits", "2")
    assert v2.tags["review_html"].endswith("reviews/review_v1_vs_v2.html")
    gan("sample", "-n", "16", "--seed", "3", "--out", "s.npy")
    arr = np.load(project / "s.npy")
    assert arr.shape == (16, 1, 8, 8) and arr.dtype == np.float32
    gan("plots", "--out", "report/plots.html")
    page = (project / "report/plots.html").read_text()
    assert page.count("<svg") == 2 and "data:image/png;base64," in page  # curves + grid, inline
    gan("sample", "-n", "5", "--out", "pngs")
    assert len(list((project / "pngs").glob("*.png"))) == 5
    assert "label 3" in gan("sample", "-n", "8", "--label", "3", "--out", "three.npy")
    np.testing.assert_array_equal(np.load(project / "three.npy"), three)
    # gan augment: the train split plus samples, the smallest digits filled first, marked.
    assert "augment: 1438 real + 719 synthetic" in gan(
        "augment", "--ratio", "0.5", "--balance", "equal", "--out", "aug"
    )
    manifest = json.loads((project / "aug/manifest.json").read_text())
    assert manifest["rows"] == {"real": 1438, "synthetic": 719} and manifest["data_hash"]
    for name, count in manifest["classes"].items():
        for tag in ("real", "synthetic"):
            assert len(list((project / "aug" / name).glob(f"{tag}_*.png"))) == count[tag]
    totals = [c["real"] + c["synthetic"] for c in manifest["classes"].values()]
    assert max(totals) - min(totals) <= 1  # 719 rows even the 10 classes out

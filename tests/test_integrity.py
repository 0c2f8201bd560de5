"""A registered version's files altered in the artifact store after registration are refused
by `gan sample`, naming the file and whether it is weights or code; unaltered, it loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlflow.tracking import MlflowClient

from pipeline.cli import main as gan
from pipeline.config import RegisterConfig
from pipeline.integrity import CODE_TAG, FILES_TAG, WEIGHTS_TAG
from pipeline.register import register
from pipeline.tracking import client, ensure_experiment
from tests.helpers import save_tiny_generator

CFG = RegisterConfig(
    model_name="gan-sealed", primary_metric="fd", higher_is_better=False, min_improvement=0.1
)


@pytest.fixture
def registered(
    tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[MlflowClient, Path]:
    """One registered champion in a SQLite store; its logged files' folder on disk."""
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cli = client(uri)
    exp = ensure_experiment(cli, "sealed", tmp_path)
    gen = save_tiny_generator(tmp_path / "generator.pt")
    register(cli, CFG, cli.create_run(exp).info.run_id, gen, {"fd": 1.0}, {"data_hash": "d"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    source = cli.get_model_version(CFG.model_name, "1").source  # models:/m-<id>
    logged = cli.get_logged_model(source.removeprefix("models:/"))
    return cli, Path(urlparse(logged.artifact_location).path)


def _sample(out: str, uri: str = f"models:/{CFG.model_name}@champion") -> int:
    return gan(["sample", "--model-uri", uri, "-n", "2", "--out", out])


def test_each_file_is_recorded_at_registration(registered) -> None:
    cli, folder = registered
    tags = cli.get_model_version(CFG.model_name, "1").tags
    files = json.loads(tags[FILES_TAG])
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(files) == on_disk and "artifacts/generator.pt" in files and "serving.py" in files
    assert len(tags[WEIGHTS_TAG]) == len(tags[CODE_TAG]) == 64  # sha256, hex


@pytest.mark.parametrize(
    ("altered", "named"),
    [("artifacts/generator.pt", "weights"), ("serving.py", "code")],
)
def test_gan_sample_refuses_a_version_altered_after_registration(
    registered, altered: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, folder = registered
    assert _sample("before.npy") == 0 and Path("before.npy").is_file()
    target = folder / altered
    target.write_bytes(target.read_bytes() + b"\n# altered after review\n")
    assert _sample("after.npy") == 1
    err = capsys.readouterr().err
    assert f"v1 of {CFG.model_name} is not what was registered: changed {altered} ({named})" in (
        err
    ), err
    assert "Refusing to load it" in err and not Path("after.npy").exists()
    # Every spelling MLflow resolves to that version is checked too.
    for uri in (f"models:/{CFG.model_name}/latest", f"MODELS:/{CFG.model_name}/1"):
        assert _sample("after.npy", uri) == 1, uri
        assert f"changed {altered} ({named})" in capsys.readouterr().err, uri

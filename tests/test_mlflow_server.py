"""The whole pipeline against a real `mlflow server` on 127.0.0.1 (a team's tracking server)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from pipeline.tracking import active_tracking
from tests.helpers import BIN, clean_env


def test_dvc_repro_tracks_and_registers_on_the_server(project: Path, mlflow_server: str) -> None:
    env = clean_env(MLFLOW_TRACKING_URI=mlflow_server)
    proc = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (project / "mlflow.db").exists()  # nothing went to the local default store

    cli = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    mv = cli.get_model_version_by_alias("gan-digits", "champion")
    run = cli.get_run(mv.run_id)
    assert "loss/D_main" in run.data.metrics and "eval/fd_digits" in run.data.metrics
    assert run.data.params["train.steps"] == "60"
    # Artifacts went through the server too: sample grids per step and the model itself.
    logged = {f.path for f in cli.list_artifacts(mv.run_id, "samples")}
    assert "samples/step_0000030.png" in logged
    with active_tracking(mlflow_server):
        model = mlflow.pyfunc.load_model("models:/gan-digits@champion")
    assert model.predict(pd.DataFrame({"n": [4], "seed": [0]})).shape == (4, 1, 8, 8)
    reg = json.loads((project / "metrics/register.json").read_text())
    assert reg["version"] == int(mv.version)

"""A team tracking server with users (`mlflow server --app-name gan-auth`, real, on 127.0.0.1):
anonymous and wrong credentials are refused before any stage works, naming the server. (The
training identity's `dvc repro`, refused and allowed promotions: tests/test_cluster.py.)"""

from __future__ import annotations

from pathlib import Path

import requests

from tests.team import TeamServer, run_in


def test_anonymous_and_wrong_credentials_fail_before_prepare(
    project: Path, team_server: TeamServer
) -> None:
    search = f"{team_server.uri}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(search, timeout=30).status_code == 401  # anonymous: refused
    code, out = run_in(project, team_server.env(None), "gan", "prepare")
    assert code == 1 and f"MLflow tracking server {team_server.uri} asks for credentials" in out
    wrong = "not-" + team_server.passwords["trainer"]
    code, out = run_in(project, team_server.env("trainer", wrong), "dvc", "repro")
    assert code != 0
    assert (
        f"MLflow tracking server {team_server.uri} refused the credentials of "
        "MLFLOW_TRACKING_USERNAME='trainer'"
    ) in out, out
    assert wrong not in out  # the password is never echoed
    assert not (project / "data/prepared").exists()  # refused before prepare did anything

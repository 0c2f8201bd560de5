"""A real team tracking server for tests: `mlflow server --app-name gan-auth` on 127.0.0.1 with
its own stores, an admin and users made through its REST API, each with a fresh password."""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from mlflow.exceptions import MlflowException

from tests.helpers import BIN, clean_env, wait_for

USERS = ("trainer", "reviewer", "reader", "lead")  # each gets only what a test grants it


@dataclass(frozen=True)
class TeamServer:
    """The server's URI and every user's password (admin included)."""

    uri: str
    passwords: dict[str, str]

    def env(self, user: str | None, password: str | None = None, **extra: str) -> dict[str, str]:
        """A subprocess environment tracking on the server as user (None: anonymous)."""
        creds = {}
        if user is not None:
            creds = {"MLFLOW_TRACKING_USERNAME": user,
                     "MLFLOW_TRACKING_PASSWORD": password or self.passwords[user]}  # fmt: skip
        return clean_env(MLFLOW_TRACKING_URI=self.uri, **creds, **extra)


def _healthy(uri: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=10) as reply:
            return reply.status == 200, f"HTTP {reply.status}"
    except OSError as e:
        return False, str(e)


@contextmanager
def team_server(root: Path, port: int) -> Iterator[TeamServer]:
    """Start the server under root, make the users, yield it; always stopped."""
    uri = f"http://127.0.0.1:{port}"
    passwords = {name: secrets.token_urlsafe(18) for name in ("admin", *USERS)}
    ini = root / "auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Each request's password check is a PBKDF2 hash: cached, as a busy server would.
        "auth_cache_ttl_seconds = 300\n"
    )
    env = clean_env(
        MLFLOW_AUTH_CONFIG_PATH=str(ini),
        MLFLOW_AUTH_ADMIN_PASSWORD=passwords["admin"],
        MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),
    )
    log = root / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "mlflow"), "server", "--app-name", "gan-auth", "--host", "127.0.0.1",
             "--port", str(port), "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
             "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: _healthy(uri), f"the team server's /health at {uri}", 300, proc, log)
        for name in USERS:
            reply = requests.post(
                f"{uri}/api/2.0/mlflow/users/create",
                json={"username": name, "password": passwords[name]},
                auth=("admin", passwords["admin"]),
                timeout=30,
            )
            assert reply.status_code == 200, reply.text
        yield TeamServer(uri, passwords)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_in(project: Path, env: dict[str, str], *cmd: str) -> tuple[int, str]:
    """Exit status and output (stdout + stderr) of a venv command run in the project."""
    done = subprocess.run(
        [str(BIN / cmd[0]), *cmd[1:]], cwd=project, env=env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def check_promotions(
    project: Path, server: TeamServer, model: str, version: str, as_user: Callable[[str], Any]
) -> None:
    """With `version` registered by the trainer and left @challenger: the server refuses the
    trainer's own @champion; a reader's `gan promote` fails naming the model and MANAGE and
    changes nothing; the reviewer's succeeds and is recorded as who moved it. as_user(name)
    returns an MlflowClient acting as that user."""
    import pytest  # a helper of tests only

    # MLflow's basic-auth alone lets EDIT set any alias, rename the model (freeing its name for
    # a model the renamer manages) and write any tag; gan-auth asks MANAGE for each of these.
    trainer = as_user("trainer")
    for attempt in (
        lambda: trainer.set_registered_model_alias(model, "champion", version),
        lambda: trainer.set_registered_model_alias(model, "Champion", version),
        lambda: trainer.rename_registered_model(model, f"{model}-old"),
        lambda: trainer.set_model_version_tag(model, version, "previous_champion", version),
        lambda: trainer.set_model_version_tag(model, version, "sha256.files", "{}"),
        lambda: trainer.set_registered_model_tag(model, "mlflow.prompt.is_prompt", "true"),
    ):
        with pytest.raises(MlflowException, match="403"):
            attempt()
    code, out = run_in(project, server.env("reader"), "gan", "promote", version, "--reason", "ok")
    assert code == 1, out
    assert (
        f"@champion of {model} not moved to v{version}: user 'reader' has READ on registered "
        f"model '{model}'"
    ) in out and "moving @champion needs MANAGE on it" in out, out
    cli = as_user("reviewer")
    assert "champion" not in cli.get_registered_model(model).aliases  # nothing changed
    assert "promoted_by" not in cli.get_model_version(model, version).tags
    code, out = run_in(project, server.env("reviewer"), "gan", "promote", version, "--reason", "ok")
    assert code == 0, out
    assert cli.get_registered_model(model).aliases["champion"] == version
    assert cli.get_model_version(model, version).tags["promoted_by"] == "reviewer"
    history = [json.loads(v) for k, v in cli.get_registered_model(model).tags.items()
               if k.startswith("champion_history.")]  # fmt: skip
    assert [(m["version"], m["by"]) for m in history] == [(int(version), "reviewer")]

"""Who calls the tracking server, and what they may do there.

Credentials are MLflow's own environment variables (MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD), which MLflow's client sends with every request; nothing here reads
them from params.yaml or writes them anywhere. A local store (sqlite:, file:) has no users: the
caller is the operating-system user, who may do anything the files allow.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from pipeline.errors import PipelineError

USER_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
TIMEOUT_S = 5.0
# Any authenticated user may list experiments (an empty list without READ): a credentials probe.
PROBE = "/api/2.0/mlflow/experiments/search?max_results=1"
PERMISSION = "/api/3.0/mlflow/users/permissions/get"  # the caller's own, on one resource
MOVE_CHAMPION = "MANAGE"  # what `mlflow server --app-name gan-auth` asks (team_server.py)


def is_server(uri: str) -> bool:
    """Whether the tracking URI is a server (http or https), not a local store."""
    return uri.startswith(("http://", "https://"))


def _get(uri: str, path: str) -> tuple[int, str]:
    """(HTTP status, body) of a GET on the server, with the environment's credentials."""
    request = urllib.request.Request(uri.rstrip("/") + path)
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def check_credentials(uri: str) -> None:
    """A server that asks for users must accept the environment's: fails in seconds, naming the
    server and the user (never the password)."""
    if not is_server(uri):
        return
    try:
        status, body = _get(uri, PROBE)
    except OSError as exc:
        raise PipelineError(f"MLflow tracking server {uri} did not answer: {exc}") from None
    if status == 401:
        user = os.environ.get(USER_ENV)
        said = (
            f"refused the credentials of {USER_ENV}={user!r} (wrong password, or no such user)"
            if user
            else f"asks for credentials: set {USER_ENV} and {PASSWORD_ENV} in the environment"
        )
        raise PipelineError(f"MLflow tracking server {uri} {said}")
    if status >= 400:
        raise PipelineError(f"MLflow tracking server {uri} answered HTTP {status}: {body[:200]}")


def caller(uri: str) -> str:
    """Who acts: the server's authenticated user (check_credentials proved them), else the
    operating-system user, marked as unauthenticated on a server that has no users."""
    user = os.environ.get(USER_ENV)
    if is_server(uri) and user:
        return user
    local = getpass.getuser()
    return f"{local} (unauthenticated)" if is_server(uri) else local


def permission(uri: str, model_name: str) -> str | None:
    """The caller's permission on a registered model (READ, EDIT, MANAGE, ...), or None where
    the store has no permissions (a local store, a server without auth)."""
    if not is_server(uri) or not os.environ.get(USER_ENV):
        return None
    query = urllib.parse.urlencode(
        {"username": os.environ[USER_ENV], "resource_type": "registered_model",
         "resource_id": model_name}
    )  # fmt: skip
    status, body = _get(uri, f"{PERMISSION}?{query}")
    if status == 404:  # no auth app on this server: every user may do everything
        return None
    if status != 200:
        raise PipelineError(f"MLflow tracking server {uri} answered HTTP {status}: {body[:200]}")
    answer: dict[str, Any] = json.loads(body)
    return str(answer.get("permission", ""))


def may_move_champion(uri: str, model_name: str) -> tuple[bool, str]:
    """Whether the caller may move the model's @champion, and if not, why (for the message)."""
    held = permission(uri, model_name)
    if held is None or held == MOVE_CHAMPION:
        return True, ""
    who = os.environ.get(USER_ENV)
    return False, (
        f"user {who!r} has {held} on registered model {model_name!r} at {uri}; moving "
        f"@champion needs {MOVE_CHAMPION} on it (an admin grants it: gan grant {who} "
        "--role reviewer)"
    )

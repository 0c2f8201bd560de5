"""Who calls the tracking server, and what they may do there.

Credentials are MLflow's own (MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or its
credentials file, token and TLS settings), sent through MLflow's own HTTP client; nothing here
reads them from params.yaml or writes them anywhere. A local store (sqlite:, file:) has no
users: the caller is the operating-system user, who may do anything the files allow.
"""

from __future__ import annotations

import getpass
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pipeline.errors import PipelineError

TIMEOUT_S = 5.0
USER_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
CURRENT_USER = "/api/2.0/mlflow/users/current"  # who the server says the caller is
PERMISSION = "/api/3.0/mlflow/users/permissions/get"  # the caller's own, on one resource
MOVE_CHAMPION = "MANAGE"  # what `mlflow server --app-name gan-auth` asks (team_server.py)


@dataclass(frozen=True)
class Caller:
    """The server's view of the caller: None where it has no users."""

    username: str | None
    is_admin: bool = False


def is_server(uri: str) -> bool:
    """Whether the tracking URI is a server (http or https), not a local store."""
    return urllib.parse.urlparse(uri).scheme.lower() in ("http", "https")


def _get(uri: str, path: str, params: dict[str, str] | None = None) -> Any:
    """The requests.Response of a GET on the server, with MLflow's credentials and TLS."""
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    return http_request(get_default_host_creds(uri), path, "GET", max_retries=0,
                        timeout=TIMEOUT_S, raise_on_status=False, params=params)  # fmt: skip


def whoami(uri: str) -> Caller:
    """Who the server authenticated, or Caller(None) where it has no users; a refusal fails in
    seconds naming the server and the user, never the password. Asked once per server and
    credentials in a process (a promotion asks several times; each answer costs the server a
    password hash)."""
    from mlflow.utils.credentials import read_mlflow_creds

    creds = read_mlflow_creds()
    return _whoami(uri, creds.username, creds.password)


@lru_cache(maxsize=8)
def _whoami(uri: str, username: str | None, password: str | None) -> Caller:
    """whoami for one set of credentials (the key: new credentials ask again)."""
    try:
        reply = _get(uri, CURRENT_USER)
    except Exception as exc:  # requests' connection errors, MLflow's wrapping of them
        raise PipelineError(f"MLflow tracking server {uri} did not answer: {exc}") from None
    if reply.status_code == 404:  # no auth app: everyone may do everything
        return Caller(None)
    if reply.status_code == 401:
        user = username
        said = (
            f"refused the credentials of {USER_ENV}={user!r} (wrong password, or no such user)"
            if user
            else f"asks for credentials: set {USER_ENV} and {PASSWORD_ENV} in the environment"
        )
        raise PipelineError(f"MLflow tracking server {uri} {said}")
    if reply.status_code != 200:
        raise PipelineError(
            f"MLflow tracking server {uri} answered HTTP {reply.status_code}: {reply.text[:200]}"
        )
    user = reply.json()["user"]
    return Caller(str(user["username"]), bool(user.get("is_admin")))


def check_credentials(uri: str) -> None:
    """A server with users must accept the caller's credentials (local stores: nothing)."""
    if is_server(uri):
        whoami(uri)


def caller(uri: str) -> str:
    """Who acts: the server's authenticated user, else the operating-system user, marked as
    unauthenticated on a server that has no users."""
    if not is_server(uri):
        return getpass.getuser()
    name = whoami(uri).username
    return name if name is not None else f"{getpass.getuser()} (unauthenticated)"


def permission(uri: str, model_name: str) -> str | None:
    """The caller's permission on a registered model (READ, EDIT, MANAGE, ...), or None where
    the store has no permissions (a local store, a server without users) or the caller is an
    admin (who may do everything)."""
    if not is_server(uri):
        return None
    me = whoami(uri)
    if me.username is None or me.is_admin:
        return None
    query = {"username": me.username, "resource_type": "registered_model",
             "resource_id": model_name}  # fmt: skip
    reply = _get(uri, PERMISSION, query)
    if reply.status_code != 200:
        raise PipelineError(
            f"MLflow tracking server {uri} answered HTTP {reply.status_code} to a permission "
            f"check: {reply.text[:200]}"
        )
    return str(reply.json().get("permission", ""))


def may_move_champion(uri: str, model_name: str) -> tuple[bool, str]:
    """Whether the caller may move the model's @champion, and if not, why (for the message)."""
    held = permission(uri, model_name)
    if held is None or held == MOVE_CHAMPION:
        return True, ""
    who = whoami(uri).username
    return False, (
        f"user {who!r} has {held} on registered model {model_name!r} at {uri}; moving "
        f"@champion needs {MOVE_CHAMPION} on it (an admin grants it: gan grant {who} "
        "--role reviewer)"
    )

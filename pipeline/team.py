"""`gan grant USER --role trainer|reviewer`: an admin gives a team member their permissions on
this project's experiment and registered model (both created first if missing, so no one else
creates them and becomes their manager). The admin's own credentials come from the
environment; users are created with MLflow's client (see the README's "A team MLflow server").
"""

from __future__ import annotations

from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline import paths
from pipeline.access import check_credentials, is_server
from pipeline.config import load_params
from pipeline.errors import PipelineError
from pipeline.tracking import client, tracking_uri

# Per role: the permission on the experiment (None: the server's default) and on the model.
ROLES: dict[str, tuple[str | None, str]] = {
    "trainer": ("EDIT", "EDIT"),  # logs runs, registers versions, sets @challenger
    "reviewer": (None, "MANAGE"),  # reads runs, moves @champion (gan promote / rollback)
}


def _ensure(cli: MlflowClient, experiment: str, model: str) -> str:
    """The experiment's id and the registered model, created where missing."""
    found = cli.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else cli.create_experiment(experiment)
    try:
        cli.get_registered_model(model)
    except MlflowException:
        cli.create_registered_model(model)
    return experiment_id


def _set(auth: Any, user: str, kind: str, resource: str, level: str) -> None:
    """Grant user `level` on one resource, replacing what they held there."""
    try:
        auth.grant_user_permission(user, kind, resource, level)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        auth.revoke_user_permission(user, kind, resource)
        auth.grant_user_permission(user, kind, resource, level)


def grant(uri: str, experiment: str, model: str, user: str, role: str) -> dict[str, str]:
    """Give user the role's permissions on the experiment and the model; returns them."""
    from mlflow.server import get_app_client

    if role not in ROLES:
        raise ValueError(f"--role must be one of {sorted(ROLES)}, not {role!r}")
    if not is_server(uri):
        raise PipelineError(f"{uri} is a local store: it has no users (set MLFLOW_TRACKING_URI)")
    check_credentials(uri)
    experiment_id = _ensure(client(uri), experiment, model)
    auth = get_app_client("gan-auth", tracking_uri=uri)
    on_experiment, on_model = ROLES[role]
    granted = {f"registered model {model}": on_model}
    if on_experiment:
        _set(auth, user, "experiment", experiment_id, on_experiment)
        granted[f"experiment {experiment}"] = on_experiment
    _set(auth, user, "registered_model", model, on_model)
    return granted


def main(user: str, role: str, params_path: str) -> None:
    """CLI entry: grant on the configured experiment and registered model."""
    params = load_params(params_path)
    uri = tracking_uri(paths.project_root())
    granted = grant(uri, params.train.experiment_name, params.register.model_name, user, role)
    print(f"grant: {user} ({role}): " + ", ".join(f"{v} on {k}" for k, v in granted.items()))

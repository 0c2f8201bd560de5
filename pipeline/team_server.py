"""`mlflow server --app-name gan-auth`: MLflow's basic-auth app with one rule made stricter.

In MLflow's basic-auth app, EDIT on a registered model lets a user set any of its aliases, so the
training identity that registers versions (EDIT) could also move `@champion`, and with it what
every consumer of `models:/NAME@champion` loads and runs. Here setting `champion` needs MANAGE
on the registered model, as deleting an alias already does; every other alias and every other
request is judged exactly as basic-auth judges it. Runs only inside the tracking server.
"""

from __future__ import annotations

from typing import Any

CHAMPION = "champion"  # pipeline.gate.CHAMPION; not imported: the server loads no torch


def _alias_in_request() -> str | None:
    """The alias a set-alias request names (JSON body or query string)."""
    from flask import request

    body = request.get_json(silent=True) or {}
    return body.get("alias") or request.args.get("alias")


def create_app(app: Any = None) -> Any:
    """The basic-auth app whose set-alias validator asks MANAGE for `champion`."""
    from mlflow.server import app as mlflow_app
    from mlflow.server import auth

    def set_alias() -> bool:
        if _alias_in_request() == CHAMPION:  # MANAGE alone grants delete
            return auth.validate_can_delete_model_or_prompt_version_alias()
        return auth.validate_can_set_model_or_prompt_version_alias()

    stock = auth.validate_can_set_model_or_prompt_version_alias
    routes = [k for k, v in auth.BEFORE_REQUEST_VALIDATORS.items() if v is stock]
    if not routes:  # a newer MLflow moved the rule: refuse to start rather than run laxer
        raise RuntimeError("gan-auth: MLflow's set-alias validator was not found")
    for route in routes:
        auth.BEFORE_REQUEST_VALIDATORS[route] = set_alias
    return auth.create_app(app if app is not None else mlflow_app)

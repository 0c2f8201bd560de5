"""`mlflow server --app-name gan-auth`: MLflow's basic-auth app with the registry's trust made
a manager's (MANAGE on the registered model), not an editor's (EDIT).

In MLflow's basic-auth app EDIT on a registered model lets a user set any alias, rename the
model (its grants move with it, freeing the name for a model the user then manages) and set any
tag, so the training identity that registers versions (EDIT) could move `@champion`, and with it
what every consumer of `models:/NAME@champion` loads and runs, or rewrite what a rollback
restores and the digests a load checks. Here an editor may still register versions, set
`@challenger` and write other tags; MANAGE is needed to set any other alias, to rename the model,
and to write the tags that record promotions, the champion's history, the files' digests and
whether the model is a prompt. Every other request is judged exactly as basic-auth judges it.
Runs only inside the tracking server (no torch, no pipeline imports).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EDITOR_ALIASES = frozenset({"challenger"})  # pipeline.gate.CHALLENGER
# Tags a manager writes (prefixes): promotion records, @champion's history, sha256 digests.
GUARDED_TAGS = (
    "previous_champion",
    "promoted_",
    "promotion",
    "rolled_back_from",
    "champion_history.",
    "sha256.",
    "mlflow.prompt.",
)
_PATCHED = "_gan_auth_patched"


def _param(name: str) -> str:
    """A request's parameter from its JSON body or its query string ("" if absent)."""
    from flask import request

    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    return str(value if value is not None else request.args.get(name, ""))


def _guarded_tag() -> bool:
    return _param("key").startswith(GUARDED_TAGS)


def _not_an_editor_alias() -> bool:
    return _param("alias") not in EDITOR_ALIASES


# (path suffix, method) -> when the request also needs MANAGE on the registered model.
RULES: dict[tuple[str, str], Callable[[], bool]] = {
    ("/registered-models/alias", "POST"): _not_an_editor_alias,
    ("/registered-models/rename", "POST"): lambda: True,
    ("/registered-models/set-tag", "POST"): _guarded_tag,
    ("/registered-models/delete-tag", "DELETE"): _guarded_tag,
    ("/model-versions/set-tag", "POST"): _guarded_tag,
    ("/model-versions/delete-tag", "DELETE"): _guarded_tag,
}


def _stricter(stock: Callable[[], bool], when: Callable[[], bool], manage: Any) -> Any:
    """stock's verdict, and MANAGE as well where `when` says so."""
    return lambda: bool(stock()) and (not when() or bool(manage()))


def create_app(app: Any = None) -> Any:
    """The basic-auth app with RULES applied to every route (REST and ajax) they name."""
    from mlflow.server import app as mlflow_app
    from mlflow.server import auth

    manage = getattr(auth, "_validate_can_manage_registered_model_or_prompt", None)
    validators = getattr(auth, "BEFORE_REQUEST_VALIDATORS", None)
    if manage is None or validators is None:  # refuse to start rather than run laxer
        raise RuntimeError("gan-auth: this MLflow's basic-auth app is not the one it knows (3.17)")
    if not getattr(auth, _PATCHED, False):
        covered = set()
        for (path, method), stock in list(validators.items()):
            for (suffix, verb), when in RULES.items():
                if method == verb and path.endswith(suffix):
                    validators[(path, method)] = _stricter(stock, when, manage)
                    covered.add((suffix, verb))
        if covered != set(RULES):
            raise RuntimeError(f"gan-auth: no route for {sorted(set(RULES) - covered)}")
        setattr(auth, _PATCHED, True)
    return auth.create_app(app if app is not None else mlflow_app)

"""A registered version is what was reviewed: the sha256 of its weights and of its shipped code,
recorded as version tags when it is registered, are checked before it is loaded.

A registered pyfunc runs the Python it ships (the serving file, its copy of ganmodels), so a
file altered in the artifact store after review would run wherever the champion is loaded.
`load_verified` downloads the version, compares every file with the record and loads the very
files it checked (no second download between check and load).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

WEIGHTS_TAG, CODE_TAG, FILES_TAG = "sha256.weights", "sha256.code", "sha256.files"
WEIGHTS_DIR = "artifacts"  # where the pyfunc keeps the generator file; every other file is code
# Written by MLflow into each download of a models:/ URI (which name and version it came as):
# not a stored file.
DOWNLOAD_NOTE = "registered_model_meta"


def file_digests(model_dir: Path) -> dict[str, str]:
    """sha256 of every file under model_dir, by path relative to it."""
    return {
        p.relative_to(model_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(model_dir.rglob("*"))
        if p.is_file() and p.relative_to(model_dir).as_posix() != DOWNLOAD_NOTE
    }


def _combined(files: dict[str, str]) -> str:
    """One digest over (path, digest) pairs."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def digest_tags(model_dir: Path) -> dict[str, str]:
    """The version tags of a model's files: weights, code, and each file's digest."""
    files = file_digests(model_dir)
    weights = {k: v for k, v in files.items() if k.startswith(f"{WEIGHTS_DIR}/")}
    code = {k: v for k, v in files.items() if k not in weights}
    return {
        WEIGHTS_TAG: _combined(weights),
        CODE_TAG: _combined(code),
        FILES_TAG: json.dumps(files, sort_keys=True),
    }


def recorded_tags(model_uri: str) -> dict[str, str]:
    """digest_tags of a logged model as the artifact store holds it (downloaded)."""
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="gan-digests-") as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
        return digest_tags(Path(local))


def differences(recorded: dict[str, str], found: dict[str, str]) -> list[str]:
    """Each file changed, missing or added since the record, with what it is."""

    def what(path: str) -> str:
        return "weights" if path.startswith(f"{WEIGHTS_DIR}/") else "code"

    out = [f"changed {p} ({what(p)})" for p in recorded if p in found and found[p] != recorded[p]]
    out += [f"missing {p} ({what(p)})" for p in recorded if p not in found]
    out += [f"added {p} ({what(p)})" for p in found if p not in recorded]
    return out


def registered_version(model_uri: str, cli: Any) -> Any | None:
    """The registered version a models:/ URI names (NAME/3, NAME@alias, NAME/latest, a stage;
    MLflow's own parsing, so every spelling it loads is checked), or None for any other URI
    (a logged model's id, a run's model, a path: no registration recorded its files)."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.utils.models import get_model_name_and_version
    from mlflow.utils.uri import get_uri_scheme

    if get_uri_scheme(model_uri) != "models":
        return None
    try:
        found = get_model_name_and_version(cli, model_uri)
        return cli.get_model_version(*found) if len(found) == 2 else None
    except MlflowException as exc:
        raise ValueError(f"{model_uri}: no such registered version ({exc.message})") from None


def load_verified(model_uri: str, cli: Any, mv: Any = None) -> Any:
    """The pyfunc at model_uri, loaded only if a registered version's files match the digests
    recorded when it was registered (cli: a client of its registry; mv: the version the URI
    names, when the caller resolved it already); any other URI loads with a warning that
    nothing was checked."""
    import mlflow.artifacts
    import mlflow.pyfunc

    mv = mv if mv is not None else registered_version(model_uri, cli)
    if mv is None:
        print(f"warning: {model_uri} is not a registered version: loaded unverified",
              file=sys.stderr)  # fmt: skip
        return mlflow.pyfunc.load_model(model_uri)
    name = mv.name
    uri = f"models:/{name}/{mv.version}"  # an alias moved meanwhile cannot swap what we check
    # Kept until exit (the loaded model imports its code from here), then removed.
    tmp = tempfile.mkdtemp(prefix="gan-verified-")
    atexit.register(shutil.rmtree, tmp, True)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
    if FILES_TAG not in mv.tags:
        print(f"warning: v{mv.version} of {name} was registered without sha256 digests: "
              "loaded unverified", file=sys.stderr)  # fmt: skip
    else:
        found = differences(json.loads(mv.tags[FILES_TAG]), file_digests(local))
        if found:
            raise PipelineError(
                f"v{mv.version} of {name} is not what was registered: {'; '.join(found)}. "
                "Refusing to load it (its files were altered in the artifact store after "
                "registration)"
            )
    return mlflow.pyfunc.load_model(str(local))

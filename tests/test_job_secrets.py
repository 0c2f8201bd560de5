"""Credentials reach a Ray job through its environment, never through the uploaded working_dir:
the package Ray's own packager builds from `gan submit`'s runtime_env holds none of them, even
where the project keeps them in files."""

from __future__ import annotations

import secrets
import zipfile
from pathlib import Path

import pytest

from pipeline.cluster import SECRET_ENV, runtime_env
from tests.helpers import copy_project


def test_the_uploaded_package_holds_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray._private.runtime_env.packaging import create_package

    root = copy_project(tmp_path / "proj")
    values = {k: f"{k.lower()}-{secrets.token_hex(8)}" for k in SECRET_ENV}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    # Where people keep them: a dotenv file, a netrc, AWS's folder, a key file.
    lines = "".join(f"{k}={v}\n" for k, v in values.items())
    for rel in (".env", ".env.local", ".netrc", ".aws/credentials", "deploy.key"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(lines)

    job = runtime_env(root)
    assert {k: job["env_vars"][k] for k in SECRET_ENV} == values  # the job gets each one
    package = tmp_path / "package.zip"
    create_package(str(root), package, include_gitignore=True, excludes=job["excludes"])
    with zipfile.ZipFile(package) as z:
        names = z.namelist()
        blob = b"".join(z.read(n) for n in names)
    assert "pipeline/cluster.py" in names  # the project itself travels
    leaked = [k for k, v in values.items() if v.encode() in blob]
    assert not leaked, f"in the uploaded package: {leaked}"

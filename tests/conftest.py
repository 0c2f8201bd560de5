"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import BABY, copy_project, write_params


@pytest.fixture(autouse=True)
def _no_outside_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests use their own local Ray and SQLite stores, whatever the shell exports."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An isolated project directory with baby params."""
    root = copy_project(tmp_path / "proj")
    write_params(root / "params.yaml", BABY)
    return root

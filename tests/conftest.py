"""Shared fixtures."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.helpers import BABY, copy_project, write_params
from tests.team import TeamServer
from tests.team import team_server as team_server_running

# One intra-op thread per process, here and in every process a test starts (they inherit the
# environment): `make test` runs two test files side by side on a 2-core machine, and torch's
# OpenMP threads, oversubscribed, made a tiny step 100x slower (0.8 s instead of 8 ms, measured).
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

# tmp_path folders in memory where the machine has /dev/shm (a tmpfs): the tests' projects
# commit to SQLite (every MLflow write), git and DVC, each commit an fsync, and on a busy disk
# those waits made test_in_process.py + test_ddp.py take 153 s instead of 92 (same CPU time).
# pytest still numbers and prunes the folders (pytest-of-<user>/pytest-N, the last 3 kept).
if os.access("/dev/shm", os.W_OK):
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", "/dev/shm")


# The longest work first. `make test` runs `--dist loadgroup --no-loadscope-reorder`: xdist hands
# out work units in collection order (without the flag it would reorder them by test count,
# starting a long file of few tests last, alone), and a unit is a test file (its module fixtures
# are made once) unless a test names its own xdist_group: test_resume.py's kill tests do, so
# they run on both workers beside each other. Measured with --durations on a 2-core machine; a
# file not listed runs after these.
SLOW_FIRST = (
    "test_resume.py",
    "test_cluster.py",
    "test_pipeline_e2e.py",
    "test_benchmarks.py",
    "test_in_process.py",
    "test_ddp.py",
    "test_own_data.py",
    "test_checkpoint_faults.py",
    "test_local_mode.py",
    "test_divergence.py",
    "test_register.py",
    "test_column_rules.py",
    "test_collapse.py",
    "test_tabular_train.py",
    "test_preflight.py",
    "test_team_server.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order test files longest first (a stable sort keeps each file's own order), and group
    each test with its file unless it names a group of its own."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))


@pytest.fixture(autouse=True)
def _no_outside_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests use their own local Ray and SQLite stores, whatever the shell exports."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                 "RAY_ADDRESS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    # A local Ray started in this process (ray_driver.init_ray) points Ray's state API at a dead
    # address through the environment; set-then-delete makes the teardown remove it again, so
    # it never reaches a later test's `gan submit` to a real cluster.
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "")
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS")


@pytest.fixture(autouse=True, scope="module")
def _no_ray_left_running() -> Iterator[None]:
    """A test file's local Ray ends with the file: the next file on this worker starts clean."""
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An isolated project directory with baby params."""
    root = copy_project(tmp_path / "proj")
    write_params(root / "params.yaml", BABY)
    return root


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with MLflow's tables made once: creating them takes seconds per store."""
    from pipeline.tracking import client

    db = tmp_path_factory.mktemp("store") / "mlflow.db"
    cli = client(f"sqlite:///{db}")
    cli.search_experiments(), cli.search_registered_models()  # tracking and registry tables
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def team_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    """A real tracking server with users (`--app-name gan-auth`), its own SQLite stores and
    proxied artifacts, shared by a module's tests; always stopped."""
    with team_server_running(tmp_path_factory.mktemp("team"), _free_port()) as server:
        yield server

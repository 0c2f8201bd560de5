"""Local mode's own machinery: which failures of a local process group are retried, which rank's
error is reported, and that the launcher leaves the stage's signal handlers as it found them.

The whole path (training, a killed rank, a killed stage) is in tests/test_resume.py.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from pipeline.data import PreparedDataError
from pipeline.local_mode import LocalGroupError, _fit_group, _group_error, fit_local
from pipeline.train import _reason


class RankTrainer:
    """Stands in for a local-mode TorchTrainer: fit() returns its rank, or raises on one rank."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on

    def fit(self) -> dict[str, Any]:
        rank = int(os.environ["RANK"])
        if rank == self.fail_on:
            raise PreparedDataError(f"shard 3 of rank {rank} is torn")
        return {"rank": rank, "world": int(os.environ["WORLD_SIZE"])}


def _python_failure(tmp: Path, rank: int, error: BaseException, trace: str) -> ProcessFailure:
    path = tmp / f"error-{rank}.json"
    message = {"message": f"{type(error).__name__}: {error}",
               "extraInfo": {"py_callstack": trace, "timestamp": "1"}}  # fmt: skip
    path.write_text(json.dumps({"message": message}))
    return ProcessFailure(local_rank=rank, pid=100 + rank, exitcode=1, error_file=str(path))


def test_a_deterministic_error_is_reported_from_its_rank_and_not_retried(tmp_path: Path) -> None:
    failures = {
        0: _python_failure(tmp_path, 0, RuntimeError("Connection closed by peer"),
                           "DistBackendError: Connection closed by peer"),
        1: _python_failure(tmp_path, 1, PreparedDataError("shard 3 is torn"),
                           "Traceback ...\npipeline.data.PreparedDataError: shard 3 is torn"),
    }  # fmt: skip
    error = _group_error(ChildFailedError("_rank_fit", failures))
    assert not error.retryable
    assert str(error).startswith("rank 1: Traceback") and "shard 3 is torn" in str(error)


def test_a_rank_killed_by_a_signal_is_retryable_and_a_peers_own_error_is_preferred(
    tmp_path: Path,
) -> None:
    killed = ProcessFailure(local_rank=0, pid=100, exitcode=-signal.SIGKILL, error_file="")
    failures = {0: killed, 1: _python_failure(tmp_path, 1, ConnectionError("storage went away"),
                                              "ConnectionError: storage went away")}  # fmt: skip
    error = _group_error(ChildFailedError("_rank_fit", failures))
    assert error.retryable and str(error) == "rank 1: ConnectionError: storage went away"
    alone = _group_error(ChildFailedError("_rank_fit", {0: killed}))
    assert alone.retryable and "Signal 9 (SIGKILL)" in str(alone)


class Flaky:
    """A 1-worker trainer that raises the given errors in turn, then returns 'done'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors, self.calls = list(errors), 0

    def fit(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_fit_local_retries_up_to_max_failures_but_never_a_stop_signal() -> None:
    flaky = Flaky(ConnectionError("a"), ConnectionError("b"))
    assert fit_local(flaky, 1, max_failures=2) == "done" and flaky.calls == 3
    with pytest.raises(ConnectionError):
        fit_local(Flaky(ConnectionError("a"), ConnectionError("b")), 1, max_failures=1)
    stopped = Flaky(SignalException("SIGTERM", signal.SIGTERM))
    with pytest.raises(SignalException):
        fit_local(stopped, 1, max_failures=2)
    assert stopped.calls == 1
    deterministic = Flaky(PreparedDataError("torn"))
    with pytest.raises(PreparedDataError):
        fit_local(deterministic, 1, max_failures=2)
    assert deterministic.calls == 1


def test_a_local_group_returns_rank_0s_result_and_restores_signal_handlers() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    assert _fit_group(RankTrainer(), 2, attempt=0) == {"rank": 0, "world": 2}
    assert {sig: signal.getsignal(sig) for sig in before} == before
    with pytest.raises(LocalGroupError) as failed:  # one rank's data error, from real processes
        _fit_group(RankTrainer(fail_on=1), 2, attempt=1)
    assert not failed.value.retryable
    assert "PreparedDataError: shard 3 of rank 1 is torn" in str(failed.value)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_the_failure_tag_names_the_class_without_its_module() -> None:
    trace = "Traceback ...\npipeline.guards.DivergenceError: loss of phase G_main is nan at step 5"
    assert _reason(trace) == "DivergenceError: loss of phase G_main is nan at step 5"
    assert _reason("CollapseError: D wins") == "CollapseError: D wins"
    assert _reason("Traceback ...\nValueError: x") == "ValueError: x"

"""Ray Train's local mode on this machine: no Ray cluster, no controller, no actors.

One worker trains in the stage's own process. Several train as a group of local processes that
torch's elastic launcher (torchrun's engine) starts, one per rank; in each, the same
`TorchTrainer` with `ScalingConfig(num_workers=0)` finds torchrun's environment and forms the
process group (gloo on CPU, NCCL on GPUs), as Ray Train documents for local mode.

Local mode neither persists checkpoints nor retries. The loop persists them into the run folder
(`LoopSpec.in_process`) and resumes from there; the retries of Ray's FailureConfig are here.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import pickle
import signal
import sys
import tempfile
import threading
from typing import Any

import torch

from pipeline.loop import NOT_RETRIED

# The signals torch's launcher takes over while its ranks run.
_NAMES = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
_SIGNALS = tuple(getattr(signal, name) for name in _NAMES if hasattr(signal, name))


class LocalGroupError(Exception):
    """A rank of a local process group failed; the message is that rank's own traceback."""

    def __init__(self, text: str, retryable: bool) -> None:
        super().__init__(text)
        self.retryable = retryable


def use_local_mode(t: Any) -> bool:
    """Whether a run trains without a Ray cluster: train.in_process, no RAY_ADDRESS, and a
    device choice local mode honours (it takes a GPU per rank whenever CUDA is there)."""
    if not t.in_process or os.environ.get("RAY_ADDRESS"):
        return False
    if torch.cuda.is_available():
        return t.use_gpu in ("auto", True) and torch.cuda.device_count() >= t.num_workers
    return t.use_gpu in ("auto", False)


def fit_local(trainer: Any, num_workers: int, max_failures: int) -> Any:
    """trainer.fit() in local mode (this process, or a group of num_workers local processes),
    retried from the newest checkpoint as Ray's FailureConfig retries a worker group."""
    failures = 0
    while True:
        try:
            if num_workers == 1:
                return trainer.fit()
            return _fit_group(trainer, num_workers, failures)
        except NOT_RETRIED:
            raise
        except Exception as exc:
            if not _retryable(exc) or (max_failures != -1 and failures >= max_failures):
                raise
            failures += 1
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
            print(
                f"train: {type(exc).__name__}: {last}; retrying from the newest checkpoint "
                f"({failures} of train.max_failures={max_failures})",
                flush=True,
            )


def _retryable(exc: Exception) -> bool:
    """A group's failure says whether it recurs; a stop signal sent to the stage never retries."""
    from torch.distributed.elastic.multiprocessing.api import SignalException

    if isinstance(exc, LocalGroupError):
        return exc.retryable
    return not isinstance(exc, SignalException)


def _fit_group(trainer: Any, num_workers: int, attempt: int) -> Any:
    """One attempt of the group: every rank runs trainer.fit(); returns rank 0's Result."""
    from torch.distributed.elastic.multiprocessing.api import DefaultLogsSpecs
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # The launcher logs each failure itself; the stage reports it once, with the traceback.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    # Ray gives each actor worker an equal share of the CPUs as its thread count: so do we.
    threads = max(1, (os.cpu_count() or 1) // num_workers)
    with tempfile.TemporaryDirectory(prefix="gan-ranks-") as logs:
        config = LaunchConfig(
            min_nodes=1,
            max_nodes=1,
            nproc_per_node=num_workers,
            run_id=f"gan-{os.getpid()}-{attempt}",
            rdzv_backend="c10d",
            rdzv_endpoint="localhost:0",  # a free port, on this machine only
            local_addr="127.0.0.1",  # MASTER_ADDR: not the host name, which may resolve away
            max_restarts=0,  # restarts are fit_local's, which tell deterministic errors apart
            monitor_interval=0.1,
            start_method="spawn",  # fork would copy this process's threads and OpenMP state
            logs_specs=DefaultLogsSpecs(log_dir=logs),
        )
        # The launcher replaces these handlers for good (to stop its ranks): put ours back.
        saved = {sig: signal.getsignal(sig) for sig in _SIGNALS}
        try:
            return elastic_launch(config, _rank_fit)(trainer, threads, os.getpid())[0]
        except ChildFailedError as exc:
            raise _group_error(exc) from None
        finally:
            if threading.current_thread() is threading.main_thread():
                for sig, handler in saved.items():
                    signal.signal(sig, handler)


def _rank_fit(trainer: Any, threads: int, stage: int) -> Any:
    """One rank of a local group: the trainer's local mode reads torchrun's environment."""
    _die_with(stage)
    torch.set_num_threads(threads)
    logging.getLogger("ray").setLevel(logging.ERROR)
    result = trainer.fit()
    if int(os.environ["RANK"]) != 0:
        result = None  # rank 0's result is the group's
    # Everything is written (MLflow calls are synchronous) and the result goes back through the
    # launcher's queue before exit: skip the interpreter's teardown of torch, Ray and MLflow,
    # about 1.5 s that the launcher would wait for (benchmarks/performance.md). Only once the
    # result is known to pickle: a failed hand-over must still exit non-zero.
    pickle.dumps(result)
    atexit.register(_exit_now)
    return result


def _die_with(stage: int) -> None:
    """Have Linux kill this rank when the stage dies, even by SIGKILL, so that no orphan trains
    on beside a rerun (tests/test_resume.py checks it).

    torch's spawn asks for SIGINT, which a rank turns into a KeyboardInterrupt and a teardown
    that waits on its peer's collective and on MLflow: on a busy machine it outlived the stage
    by more than 10 s. The stage had no time to stop its ranks cleanly, so neither do they.
    """
    libc = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or libc is None:
        return  # elsewhere torch's own request (SIGINT) is all there is
    pr_set_pdeathsig = 1
    ctypes.CDLL(libc, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != stage:  # the stage died before the request was made
        os._exit(1)


def _exit_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _not_retried_names() -> set[str]:
    names, todo = set(), list(NOT_RETRIED)
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _group_error(exc: Any) -> LocalGroupError:
    """The root cause among the ranks' failures. torch reports the first rank to exit with an
    error and then stops its peers; where several are reported, prefer a rank's own Python
    error over a peer's broken connection or a signal."""
    texts = []
    for rank, failure in sorted(exc.failures.items()):
        message = failure.message
        if isinstance(message, dict):  # a Python error: its class, message and traceback
            name = str(message.get("message", "")).split(":", 1)[0]
            trace = message.get("extraInfo", {}).get("py_callstack", "") or message["message"]
            texts.append((name, f"rank {rank}: {trace.strip()}"))
        else:
            texts.append(("", f"rank {rank}: {message or f'exit code {failure.exitcode}'}"))
    deterministic = _not_retried_names()
    for name, text in texts:
        if name in deterministic:
            return LocalGroupError(text, retryable=False)
    own = [text for name, text in texts if name and "DistBackendError" not in name]
    return LocalGroupError((own or [t for _, t in texts])[0], retryable=True)

"""A mutex in the MLflow registry itself, so concurrent registrations move `champion` safely.

MLflow has no compare-and-set on aliases. Creating a registered model is atomic (a unique name
in the store, whether SQLite or a tracking server's database), so a registered model named
`<model>.promotion-lock` is the lock: whoever creates it holds it, deleting it releases it.
Held only around read-champion / gate / move-alias: well under a second.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline.config import LOCK_SUFFIX
from pipeline.errors import PipelineError


def lock_name(model_name: str) -> str:
    """The registered-model name that locks promotions of model_name."""
    return f"{model_name}{LOCK_SUFFIX}"


def _holder(cli: MlflowClient, name: str) -> tuple[str, float] | None:
    try:
        tags = cli.get_registered_model(name).tags
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None  # released meanwhile
        raise
    # No acquired_at yet (read while its holder writes it): held now, never mistaken for stale.
    return tags.get("owner", "?"), float(tags.get("acquired_at", time.time()))


@contextmanager
def promotion_lock(
    cli: MlflowClient, model_name: str, wait_s: float = 120.0, stale_s: float = 300.0
) -> Iterator[None]:
    """Hold the promotion lock of model_name; a lock older than stale_s (its holder died) is
    broken; waiting longer than wait_s fails naming the holder."""
    name = lock_name(model_name)
    me = f"{socket.gethostname()}:{os.getpid()}"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cli.create_registered_model(
                name,
                tags={"owner": me, "acquired_at": f"{time.time():.3f}"},
                description=f"Held while a registration moves the aliases of {model_name}.",
            )
            break
        except MlflowException as exc:
            # Held by a racer. A SQL store looks the existing model up after its failed insert:
            # released in between, the lookup reports "does not exist". Both mean: try again.
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise
        holder = _holder(cli, name)
        if holder is None:
            continue
        owner, since = holder
        if time.time() - since > stale_s:
            _release(cli, name)  # its holder died before releasing it
            continue
        if time.monotonic() > deadline:
            raise PipelineError(
                f"the registry lock {name!r} has been held by {owner} for "
                f"{time.time() - since:.0f} s; if no registration is running, delete that "
                "registered model and retry"
            )
        time.sleep(0.1 + random.random() * 0.2)  # jitter: racers don't retry in lockstep
    try:
        yield
    finally:
        _release(cli, name)


def _release(cli: MlflowClient, name: str) -> None:
    """Delete the lock; one already gone (broken as stale by a racer) is released already."""
    try:
        cli.delete_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise

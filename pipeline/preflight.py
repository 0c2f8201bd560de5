"""Checks that fail in seconds, before any training, when a service or resource is missing.

Left alone, MLflow retries an unreachable server for minutes, `ray.init` waits on a dead address,
and Ray Train waits forever for workers a cluster cannot place.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from urllib.parse import urlparse

from pipeline.errors import PipelineError

TIMEOUT_S = 5.0


def check_tracking_uri(uri: str) -> None:
    """An http(s) MLflow tracking URI must answer its /health endpoint."""
    if not uri.startswith(("http://", "https://")):
        return  # a local store (sqlite:, file:) is created on demand
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=TIMEOUT_S) as resp:
            if resp.status == 200:
                return
            problem = f"HTTP {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        problem = str(getattr(exc, "reason", exc))
    raise PipelineError(
        f"MLflow tracking server {uri} (MLFLOW_TRACKING_URI) is unreachable: {problem}. "
        "Start it, fix the URI, or unset MLFLOW_TRACKING_URI for the local SQLite store"
    )


def check_ray_address(address: str | None) -> None:
    """A Ray GCS address (host:port or ray://host:port) must accept a TCP connection."""
    if not address or address in ("auto", "local") or address.startswith(("http://", "https://")):
        return
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    host, port = parsed.hostname, parsed.port
    if not host or not port:
        raise PipelineError(f"RAY_ADDRESS={address!r} is not host:port or ray://host:port")
    try:
        socket.create_connection((host, port), timeout=TIMEOUT_S).close()
    except OSError as exc:
        raise PipelineError(
            f"Ray cluster at RAY_ADDRESS={address} is unreachable: {exc}. Start it (ray start "
            "--head), fix the address, or unset RAY_ADDRESS to train on a local Ray"
        ) from None


def check_capacity(
    num_workers: int, per_worker: dict[str, float], available: dict[str, float]
) -> None:
    """The cluster must hold every worker's resources at once (else Ray waits forever)."""
    for resource, amount in per_worker.items():
        need, have = num_workers * amount, available.get(resource, 0.0)
        if need > have:
            raise PipelineError(
                f"train.num_workers={num_workers} asks for {need:g} {resource} "
                f"({amount:g} per worker); the Ray cluster has {have:g} {resource} in all. "
                "Lower train.num_workers or add nodes"
            )

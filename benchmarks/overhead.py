"""What the framework costs: the default model trained (a) by a plain PyTorch loop written here,
(b) by `gan train` with 1 worker and (c) with 2 workers, on the same data, global batch and
precision, alternating runs (a b c d a b c d ...) and reporting medians. Without a Ray cluster,
`gan train` trains in Ray Train's local mode (1 worker in its process, 2 workers as local rank
processes); (d) is (c) on Ray actors in a local Ray cluster (`train.in_process: false`).

Per run: steady-state samples/s and ms/step (the median of the logged windows after the first),
time to first step (process start until the loop's first step begins), total wall time and
peak memory of the whole process tree; and each one's ratio to (a).

Run (not in CI): .venv/bin/python benchmarks/overhead.py --steps 600 --repeats 3
Smoke run (all four configurations once, 4 steps in windows of 2; with --costs, its variants
likewise; a temporary --out): .venv/bin/python benchmarks/overhead.py --smoke [--costs]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.smoke import out_path  # noqa: E402

WINDOW = 50  # steps per timing window (the loop's log_every)
# --smoke: two windows per run (the steady state is the windows after the first), one repeat.
SMOKE = {"steps": 4, "window": 2, "repeats": 1}


def plain(project: Path, steps: int, window: int = WINDOW) -> None:
    """(a): the default recipe's step in one process on all cores; prints one JSON line."""
    t_start = float(os.environ["BENCH_T0"])
    import torch

    from ganmodels.build import build_discriminator, build_generator
    from ganmodels.ema import make_ema, update_ema
    from ganmodels.losses import OBJECTIVES
    from pipeline.config import load_params
    from pipeline.data import read_schema
    from pipeline.kinds import for_schema
    from pipeline.kinds.image.shards import load_split

    torch.set_num_threads(os.cpu_count() or 1)
    params = load_params(project / "params.yaml")
    t, prepared = params.train, project / "data" / "prepared"
    schema = read_schema(prepared)
    config = for_schema(schema).model_config(params, schema, prepared)
    images, labels = load_split(prepared, "train")
    x = torch.from_numpy(images).float() / 127.5 - 1.0
    y = torch.from_numpy(labels).long()
    torch.manual_seed(t.seed)
    G, D = build_generator(config), build_discriminator(config)
    G_ema = make_ema(G)
    opt_g = torch.optim.Adam(G.parameters(), t.lr_g, betas=(t.beta1, t.beta2))
    opt_d = torch.optim.Adam(D.parameters(), t.lr_d, betas=(t.beta1, t.beta2))
    d_loss, g_loss = OBJECTIVES[t.objective]
    conditional = config["num_classes"] > 0
    batch, z_dim = t.batch_size, config["z_dim"]
    gen = torch.Generator().manual_seed(t.seed)
    first = time.time()
    windows, t0 = [], time.perf_counter()
    for step in range(steps):
        rows = torch.randint(0, len(x), (batch,), generator=gen)
        real, yr = x[rows], (y[rows] if conditional else None)
        yf = (
            torch.randint(0, config["num_classes"], (batch,), generator=gen)
            if conditional
            else None
        )
        z = torch.randn(batch, z_dim, generator=gen)
        opt_d.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = G(z, yf)
        d_loss(D(real, yr), D(fake, yf)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        z = torch.randn(batch, z_dim, generator=gen)
        g_loss(D(G(z, yf), yf)).backward()
        opt_g.step()
        update_ema(G_ema, G, min(t.ema_decay, (1 + step) / (10 + step)))
        if (step + 1) % window == 0:
            now = time.perf_counter()
            windows.append(batch * window / (now - t0))
            t0 = now
    last = time.time()
    print(json.dumps({"windows": windows, "first_step_s": first - t_start,
                      "last_step_s": last - t_start}))  # fmt: skip


def _tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants (0 once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):  # exited while we looked
            total += p.memory_info().rss
    return total


def _watch(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, float, int]:
    """Run cmd; return (stdout, wall seconds, peak RSS of its process tree in bytes)."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env={**env, "BENCH_T0": str(t0)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.25)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed with exit status {proc.returncode}")
    return out, time.time() - t0, peak


def _framework(
    project: Path,
    workers: int,
    steps: int,
    env: dict[str, str],
    run: int,
    window: int = WINDOW,
    **train: Any,
) -> dict[str, Any]:
    """(b)/(c): `gan train` in the project; timings from the run's MLflow metrics."""
    from mlflow.tracking import MlflowClient

    from tests.helpers import write_params

    extra = "".join(f"-{k}{v}" for k, v in sorted(train.items()))
    name = f"overhead-w{workers}-r{run}{extra}"  # a fresh run identity: nothing to resume
    over = {"train": {"steps": steps, "num_workers": workers, "log_every": window,
                      "experiment_name": name, "storage_path": f"ray_runs/{name}",
                      **train}}  # fmt: skip
    write_params(project / "params.yaml", over)
    t0 = time.time()
    _, wall, peak = _watch([str(Path(sys.executable).with_name("gan")), "train"], project, env)
    cli = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    exp = cli.get_experiment_by_name(name)
    run_id = cli.search_runs([exp.experiment_id])[0].info.run_id
    history = sorted(cli.get_metric_history(run_id, "perf/samples_per_s"), key=lambda m: m.step)
    started = cli.get_metric_history(run_id, "train/start_step")[0].timestamp / 1000
    blocked = [m.value for m in cli.get_metric_history(run_id, "perf/checkpoint_s")]
    ended = history[-1].timestamp / 1000  # the last step's metrics row
    return {"windows": [m.value for m in history], "wall_s": wall, "peak_rss": peak,
            "started_at": started, "ended_at": ended, "t0": t0,
            "checkpoint_s": blocked}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Alternate the configurations; print and save medians and ratios (the saved JSON is also
    returned)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--plain-child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--costs", action="store_true", help="checkpoint and MLflow logging costs")
    p.add_argument("--only", nargs="+", default=None, help="--costs: these variants only")
    p.add_argument("--window", type=int, default=WINDOW, help="steps per timing window")
    p.add_argument("--out", default=None, help="JSON (default: benchmarks/overhead.json; "
                   "--costs writes costs.json beside it)")  # fmt: skip
    p.add_argument("--smoke", action="store_true", help="a tiny run; a temporary --out")
    args = p.parse_args(argv)
    if args.plain_child:
        plain(Path(args.plain_child), args.steps, args.window)
        return {}
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    args.out = str(out_path(args.out, args.smoke, "overhead.json"))
    from pipeline.config import load_params
    from pipeline.prepare import prepare
    from tests.helpers import clean_env, write_params

    env = clean_env()
    configs = (
        (1, "1 worker", {}),
        (2, "2 workers", {}),
        (2, "2 workers, Ray actors", {"in_process": False}),
    )
    results: dict[str, list[dict[str, Any]]] = {"plain": [], **{c[1]: [] for c in configs}}
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        project = Path(tmp)
        params = load_params(write_params(project / "params.yaml", {}))
        prepare(params.data, project / "data" / "prepared", project)
        if args.costs:
            return costs(project, args, env)
        for run in range(args.repeats):
            write_params(project / "params.yaml", {"train": {"steps": args.steps}})
            cmd = [sys.executable, __file__, "--steps", str(args.steps)]
            cmd += ["--window", str(args.window)]
            out, wall, peak = _watch([*cmd, "--plain-child", str(project)], project, env)
            row = json.loads(out.strip().splitlines()[-1])
            results["plain"].append({**row, "wall_s": wall, "peak_rss": peak})
            for workers, key, train in configs:
                row = _framework(project, workers, args.steps, env, run, args.window, **train)
                t0 = row.pop("t0")
                row["first_step_s"] = row.pop("started_at") - t0
                row["last_step_s"] = row.pop("ended_at") - t0
                results[key].append(row)
            print(json.dumps({k: v[-1] for k, v in results.items()}, default=str)[:2000])
    summary = summarize(results)
    saved = {"args": vars(args), "runs": results, "summary": summary}
    Path(args.out).write_text(json.dumps(saved, indent=1))
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out}")
    return saved


def costs(project: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Seconds per checkpoint and per MLflow metrics row, from `gan train` runs (2 workers on
    Ray actors) that differ only in checkpoint_every, keep_best or log_every, alternating;
    medians."""
    every = min(50, args.steps // 2)  # the smoke run's 4 steps still see checkpoints
    variants = {
        "base": {"checkpoint_every": 10 * args.steps, "keep_best": False},
        "checkpoints": {"checkpoint_every": every, "keep_best": False},
        "checkpoints_async": {
            "checkpoint_every": every,
            "keep_best": False,
            "checkpoint_upload": "async",
        },
        "checkpoints+best": {"checkpoint_every": every, "keep_best": True},
        # A metrics row every step (each also checks the losses for NaN: a host sync).
        "log_every_1": {"checkpoint_every": 10 * args.steps, "keep_best": False, "log_every": 1},
    }
    if args.only:
        variants = {k: v for k, v in variants.items() if k in args.only}
    walls: dict[str, list[float]] = {k: [] for k in variants}
    # Seconds the loop waited at each checkpoint (its perf/checkpoint_s metric): a direct
    # measure, where wall-time differences of a few seconds drown in run-to-run noise.
    blocked: dict[str, list[float]] = {k: [] for k in variants}
    for run in range(args.repeats):
        for key, train in variants.items():
            # On Ray actors: the upload modes are Ray's (local mode copies in line).
            row = _framework(
                project, 2, args.steps, env, run, args.window, in_process=False, **train
            )
            # Training time only: from the loop's first step to the process's end.
            walls[key].append(row["wall_s"] - (row["started_at"] - row["t0"]))
            blocked[key].extend(row["checkpoint_s"])
            print(key, round(walls[key][-1], 2), flush=True)
    base = statistics.median(walls["base"]) if "base" in walls else float("nan")
    # Extra events in each variant over the base run: checkpoints, or metric rows.
    events = {"checkpoints": args.steps // every, "checkpoints_async": args.steps // every,
              "checkpoints+best": args.steps // every,
              "log_every_1": args.steps - args.steps // args.window}  # fmt: skip
    out = {
        k: {"train_s": statistics.median(v),
            "per_event_s": (statistics.median(v) - base) / events[k] if k in events else 0.0,
            "blocked_per_checkpoint_s": statistics.median(blocked[k]) if blocked[k] else None}
        for k, v in walls.items()
    }  # fmt: skip
    saved = {"args": vars(args), "walls": walls, "blocked": blocked, "summary": out}
    path = Path(args.out).with_name("costs.json")
    path.write_text(json.dumps(saved, indent=1))
    print(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return saved


def summarize(results: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Medians over runs of the steady state (windows after the first) and the fixed costs."""
    out = {}
    for key, runs in results.items():
        rate = statistics.median(statistics.median(r["windows"][1:]) for r in runs)
        out[key] = {
            "samples_per_s": rate,
            "first_step_s": statistics.median(r["first_step_s"] for r in runs),
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            # Start (to the first step) plus teardown (last step to the process's exit).
            "fixed_s": statistics.median(
                r["first_step_s"] + r["wall_s"] - r["last_step_s"] for r in runs
            ),
            "peak_rss_mib": statistics.median(r["peak_rss"] for r in runs) / 2**20,
        }
    base = out["plain"]
    for row in out.values():
        row["ratio_throughput"] = row["samples_per_s"] / base["samples_per_s"]
        row["ratio_wall"] = row["wall_s"] / base["wall_s"]
        row["fixed_over_plain_s"] = row["fixed_s"] - base["fixed_s"]
    return out


if __name__ == "__main__":
    main()

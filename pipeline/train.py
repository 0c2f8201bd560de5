"""Train stage: the run's identity, its MLflow run and Ray driver, then the DVC outs.

`fit` orchestrates: the kind's model config, the run key (pipeline/run_identity.py), the MLflow
run (pipeline/tracking.py) and the TorchTrainer (pipeline/ray_driver.py, the workers'
loop in pipeline/loop.py).
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline import kinds, paths, storage
from pipeline.checkpoints import load_best, load_checkpoint_dir
from pipeline.config import Params, load_params, params_hash
from pipeline.data import read_schema
from pipeline.errors import TrainingError
from pipeline.lineage import git_tags
from pipeline.loop import LoopSpec
from pipeline.phases import PHASE_KEYS
from pipeline.preflight import check_ray_address, check_tracking_uri
from pipeline.progress import ProgressMonitor
from pipeline.ray_driver import Driver, TrainingFailed
from pipeline.run_identity import run_key
from pipeline.tracking import TrainingRun, flatten, tracking_uri

__all__ = ["TrainingError", "TrainResult", "fit", "main", "write_outputs"]
# The last value of each, in metrics/train.json (with the kind's monitor/<probe> score).
SHOWN = (*PHASE_KEYS, "perf/samples_per_s", "aug/p")


@dataclass(frozen=True)
class TrainResult:
    """What the train stage produced."""

    run_id: str
    run_key: str
    params_hash: str
    data_hash: str
    experiment_id: str
    step: int
    start_step: int
    wall_time_s: float
    final_metrics: dict[str, float]
    exported_step: int
    best: dict[str, Any]  # step and probe score (monitor/<name>) of the best checkpoint


def _open_run(
    params: Params,
    root: Path,
    uri: str,
    schema: dict[str, Any],
    key: str,
    schema_keys: tuple[str, ...],
) -> TrainingRun:
    """The run's MLflow run, found (a resume) or created with every param and the data's keys."""
    tags = {"data_hash": schema["data_hash"], **git_tags(root)}
    # The stage reads only `model` and `train`; the data is described by its schema.
    logged = flatten({"model": params.model.model_dump(), "train": params.train.model_dump()})
    keys = ("kind", "source", *schema_keys, "data_hash")
    data = {f"data.{k}": schema[k] for k in keys if k in schema}
    experiment = params.train.experiment_name
    return TrainingRun.open(uri, experiment, root, key, tags, {**logged, **data})


def fit(params: Params, root: Path, prepared: Path | str) -> tuple[TrainResult, dict[str, Any]]:
    """Run (or resume) distributed training; returns the result and the final checkpoint state."""
    schema = read_schema(prepared)
    kind = kinds.for_schema(schema)
    # The kind's model config; fails early on, e.g., a conditional model without labels.
    mconfig = kind.model_config(params, schema, prepared)
    key = run_key(params, schema["data_hash"])
    uri = tracking_uri(root)
    check_tracking_uri(uri)
    check_ray_address(os.environ.get("RAY_ADDRESS"))
    t = params.train
    with ThreadPoolExecutor(1) as pool:
        # The MLflow run opens while Ray starts: each takes seconds, mostly waiting on I/O.
        opening = pool.submit(_open_run, params, root, uri, schema, key, kind.schema_keys)
        driver = Driver(t)
        run = opening.result()
    for note in driver.notes():
        print(note)
    run_dir = storage.join(storage.resolve(t.storage_path, root), f"gan-{key}")
    spec = LoopSpec(
        model_config=mconfig,
        train=t,
        # Workers may run elsewhere: an absolute path (or a URI) they can open themselves.
        prepared_dir=storage.resolve(str(prepared), Path.cwd()),
        tracking_uri=uri,
        run_id=run.run_id,
        run_key=key,
        best_dir=storage.join(run_dir, "best") if t.keep_best else None,
        fault=os.environ.get("GAN_FAULT") or None,
        run_dir=run_dir,
        in_process=driver.in_process,
    )
    print(
        f"train: run {key} | {t.num_workers} worker(s){driver.where()} on "
        f"{'GPU' if driver.use_gpu else 'CPU'} | {t.steps} steps, global batch {t.batch_size} | "
        f"MLflow run {run.run_id}",
        flush=True,
    )
    t0 = time.perf_counter()
    try:
        with ProgressMonitor(TrainingRun(uri, run.run_id), t.steps, t.batch_size):
            result = driver.fit(spec, f"gan-{key}", root)
    except TrainingFailed as exc:
        run.failed(_reason(str(exc)))
        message = f"training run {key} failed (MLflow run {run.run_id}):\n{exc}"
        raise TrainingError(message) from None
    return _finish(params, schema, spec, run, result, time.perf_counter() - t0)


def _finish(
    params: Params,
    schema: dict[str, Any],
    spec: LoopSpec,
    run: TrainingRun,
    result: Any,
    wall: float,
) -> tuple[TrainResult, dict[str, Any]]:
    """The exported state (final, or best with train.export: best) and the run's summary."""
    with result.checkpoint.as_directory() as d:
        state = load_checkpoint_dir(d)
    trained, best = int(state["step"]), dict(state.get("best", {}))
    if params.train.export == "best" and spec.best_dir:
        state = load_best(spec.best_dir)
        print(f"train: exporting the best checkpoint, step {state['step']} (train.export: best)")
    latest = run.finished()
    monitors = sorted(k for k in latest if k.startswith("monitor/"))  # the kind's probe
    summary = TrainResult(
        run_id=run.run_id,
        run_key=spec.run_key,
        params_hash=params_hash(params.model, params.train),
        data_hash=schema["data_hash"],
        experiment_id=run.experiment_id,
        step=trained,
        start_step=int(result.metrics.get("start_step", 0)),
        wall_time_s=round(wall, 2),
        final_metrics={k: latest[k] for k in (*SHOWN, *monitors) if k in latest},
        exported_step=int(state["step"]),
        best=best,
    )
    return summary, state


def _reason(text: str) -> str:
    """The worker's own error line out of Ray's failure report (for the run's `failure` tag)."""
    for cls in ("DivergenceError", "CollapseError"):
        for line in text.splitlines():
            # A traceback names the class with its module: pipeline.guards.DivergenceError: ...
            head, sep, rest = line.strip().partition(": ")
            if sep and head.rpartition(".")[2] == cls:
                return f"{cls}: {rest}"[:5000]
    return text.strip().splitlines()[-1][:5000] if text.strip() else "unknown"


def write_outputs(result: TrainResult, state: dict[str, Any], uri: str, out_root: Path) -> None:
    """Generator file, run pointer, train metrics and loss curves (the stage's DVC outs)."""
    generator = {
        "model_config": state["model_config"],
        "state_dict": state["G_ema"],
        "step": state["step"],
        "data_hash": result.data_hash,
        "run_id": result.run_id,
    }
    paths.atomic_write(out_root / paths.GENERATOR, lambda tmp: torch.save(generator, tmp))
    pointer = {
        "params_hash": result.params_hash,
        "run_id": result.run_id,
        "run_key": result.run_key,
        "experiment_id": result.experiment_id,
    }
    paths.write_json(out_root / paths.TRAIN_RUN, pointer)
    metrics = {
        "step": result.step,
        "start_step": result.start_step,
        "wall_time_s": result.wall_time_s,
        "exported_step": result.exported_step,
        **{f"best_{k}": v for k, v in result.best.items()},
        **result.final_metrics,
    }
    paths.write_json(out_root / paths.METRICS / "train.json", metrics)
    curves = TrainingRun(uri, result.run_id).curves(PHASE_KEYS)
    _write_loss_curves(curves, out_root / paths.PLOTS / "losses.csv")


def _write_loss_curves(rows: dict[int, dict[str, float]], out: Path) -> None:
    names = {k: k.split("/")[-1] for k in PHASE_KEYS}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", *names.values()])
        w.writeheader()
        for step in sorted(rows):
            w.writerow({"step": step, **{names[k]: v for k, v in rows[step].items()}})


def main(
    params_path: str = str(paths.PARAMS),
    prepared: str | None = None,
    out_dir: str | None = None,
    storage_root: str | None = None,
) -> None:
    """DVC entry point: params -> fit -> outs (on a cluster when RAY_ADDRESS is a Jobs URL).

    prepared, out_dir and storage_root are set by `gan submit` for the job it runs: where the
    staged shards are, where outs go, and what a relative train.storage_path is relative to.
    """
    from pipeline.cluster import is_jobs_address, run_on_cluster

    params = load_params(params_path)
    root = paths.project_root()
    if prepared is None and is_jobs_address(os.environ.get("RAY_ADDRESS")):
        status = run_on_cluster(params, root, None, params_path)
        if status:
            raise TrainingError(f"the cluster job did not succeed (exit status {status})")
        return
    base = Path(storage_root) if storage_root else root
    result, state = fit(params, base, prepared or paths.PREPARED)
    if out_dir is None:
        write_outputs(result, state, tracking_uri(root), root)
    else:  # a job: outs go to shared storage, whence `gan submit` fetches them
        with tempfile.TemporaryDirectory() as tmp:
            write_outputs(result, state, tracking_uri(root), Path(tmp))
            storage.upload(Path(tmp), out_dir)
    resumed = f" (resumed at step {result.start_step})" if result.start_step else ""
    print(
        f"train: done {result.step} steps{resumed} in {result.wall_time_s:.0f} s -> "
        f"{paths.GENERATOR} | MLflow run {result.run_id}",
        flush=True,
    )

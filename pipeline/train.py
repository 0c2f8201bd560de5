"""Train stage: Ray Train TorchTrainer over the prepared shards, MLflow run, DVC outs."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline import paths, storage
from pipeline.checkpoints import load_best, load_checkpoint_dir
from pipeline.config import PAC, Params, PipelineError, load_params, params_hash
from pipeline.data import read_schema
from pipeline.local_mode import LocalGroupError, fit_local, use_local_mode
from pipeline.loop import LoopSpec, train_loop_per_worker
from pipeline.phases import PHASE_KEYS
from pipeline.preflight import check_capacity, check_ray_address, check_tracking_uri
from pipeline.progress import ProgressMonitor
from pipeline.tracking import (
    RunWriter,
    client,
    ensure_experiment,
    find_or_create_run,
    flatten,
    git_commit,
    tracking_uri,
)

# The controller polls workers every 2 s by default, making each report() cost ~1-1.6 s.
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")


NO_STATE_API = "http://127.0.0.1:1"  # nothing listens on port 1: connections refused at once


class TrainingError(PipelineError):
    """Training failed on the workers; the MLflow run is marked FAILED."""


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
    best: dict[str, Any]  # step and monitor/fd_pixels of the best checkpoint


def model_config(
    params: Params, schema: dict[str, Any], prepared: Path | str | None = None
) -> dict[str, Any]:
    """The model config a checkpoint carries: params.model plus the data's shape and classes
    (for a table: the encoded row's spans, read from the prepared transformer)."""
    m = params.model
    if schema.get("kind") == "tabular":
        from pipeline.prepare_table import load_transformer

        if prepared is None:
            raise PipelineError("a table's model config needs the prepared data folder")
        transformer = load_transformer(prepared)
        spans = transformer.spans
        return {
            **m.model_dump(exclude={"preset", "conditional"}),
            "num_classes": 0,
            "spans": [[s.activation, s.width] for s in spans],
            "cond_dim": sum(s.width for s in spans if s.role == "level"),
            "pac": PAC,
            # The decoder travels with the weights: a checkpoint or export samples whole rows.
            "transformer": transformer.to_dict(),
        }
    if m.conditional and not schema.get("labeled"):
        raise PipelineError(
            f"model.conditional: true needs class labels, but data.source {schema['source']!r} "
            "is unlabeled (labels come from sub-folder names); set model.conditional: false"
        )
    c, h, _ = schema["shape"]
    return {
        **m.model_dump(exclude={"preset", "conditional"}),
        "num_classes": int(schema["num_classes"]) if m.conditional else 0,
        "channels": c,
        "image_size": h,
    }


# Keys that change how a run is watched or stored, not what it computes.
_BOOKKEEPING = {
    "log_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "checkpoint_upload",
    "keep_best",
    "export",
    "storage_path",
    "experiment_name",
    # How a run reacts to trouble: a run stopped by the alarm or a NaN may be resumed under a
    # changed policy (a rollback's lower lr is in the checkpoint, so resumes stay exact).
    "stop_on_collapse",
    "collapse_window",
    "on_divergence",
    "max_rollbacks",
    "rollback_lr_factor",
    "max_failures",
    "in_process",  # where the loop runs, not what it computes
}
# The code that determines the trained weights (the train stage's code deps in dvc.yaml):
# a change to it must not resume an old run.
_TRAINING_CODE = (
    "ganmodels/dcgan.py",
    "ganmodels/resnet.py",
    "ganmodels/mlp.py",
    "ganmodels/layers.py",
    "ganmodels/build.py",
    "ganmodels/losses.py",
    "ganmodels/regularizers.py",
    "ganmodels/augment.py",
    "ganmodels/ema.py",
    "pipeline/phases.py",
    "pipeline/guards.py",
    "pipeline/loop.py",
    "pipeline/checkpoints.py",
    "pipeline/data.py",
    "pipeline/batches.py",
    "ganmodels/tabular.py",
    "ganmodels/tabular_nets.py",
    "ganmodels/tabular_sampler.py",
)


def code_hash() -> str:
    """Hash of the training code's source files."""
    pkg_root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for name in _TRAINING_CODE:
        h.update(name.encode() + b"\0" + (pkg_root / name).read_bytes())
    return h.hexdigest()


def run_key(params: Params, data_hash: str) -> str:
    """Training identity (model, result-relevant train keys, code, data): equal keys resume."""
    # The preset's name is not identity: its values are (already folded into model and train).
    model = params.model.model_dump(exclude={"preset"})
    train = params.train.model_dump(exclude=_BOOKKEEPING)
    blob = json.dumps([model, train, code_hash()], sort_keys=True)
    return f"{hashlib.sha256(blob.encode()).hexdigest()[:10]}-{data_hash[:8]}"


def _init_ray(num_workers: int) -> tuple[int, bool]:
    """Connect to RAY_ADDRESS or start a local Ray; returns (CPUs, whether we started it)."""
    import ray

    address = os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        # Worker output stays in Ray's logs: progress comes from MLflow, errors from fit().
        logging.getLogger("ray").setLevel(logging.ERROR)
        # The controller reads its poll interval from the environment: a local Ray inherits
        # ours; a cluster job gets it from `gan submit`'s runtime_env.
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            # Ray Train's PlacementGroupCleaner polls the state API, whose address comes from
            # /tmp/ray/ray_current_cluster: the last `ray start` cluster on this machine, dead
            # (each fit's teardown then stalls 12 s) or alive (the wrong cluster). Our local Ray
            # has no dashboard: point the API at an address that refuses at once.
            os.environ.setdefault("RAY_API_SERVER_ADDRESS", NO_STATE_API)
            # "local" forces a fresh instance: without it ray.init() silently joins any
            # cluster a `ray start` left running on this machine.
            ray.init(
                address="local",
                num_cpus=max(os.cpu_count() or 1, num_workers),
                include_dashboard=False,
                # Ray Train's actors carry a runtime env, so they never take the idle workers
                # Ray pre-starts; starting those only competes for the CPUs (~1 s per fit).
                _system_config={
                    "enable_worker_prestart": False,
                    "prestart_worker_first_driver": False,
                },
                **kwargs,
            )
    return int(ray.cluster_resources().get("CPU", 1)), not address


def _cluster_resources() -> dict[str, float]:
    import ray

    return {k: float(v) for k, v in ray.cluster_resources().items()}


def _use_gpu(choice: str | bool, num_workers: int) -> bool:
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    if choice is True and gpus < num_workers:
        raise TrainingError(
            f"train.use_gpu: true asks for {num_workers} GPUs; the Ray cluster has {gpus:g}"
        )
    return choice is True or (choice == "auto" and gpus >= num_workers)


def fit(params: Params, root: Path, prepared: Path | str) -> tuple[TrainResult, dict[str, Any]]:
    """Run (or resume) distributed training; returns the result and the final checkpoint state."""
    from ray.train import (
        CheckpointConfig,
        FailureConfig,
        RunConfig,
        ScalingConfig,
        TrainingFailedError,
    )
    from ray.train.torch import TorchTrainer

    schema = read_schema(prepared)
    # Fails early on a conditional model without labels.
    mconfig = model_config(params, schema, prepared)
    key = run_key(params, schema["data_hash"])
    uri = tracking_uri(root)
    check_tracking_uri(uri)
    check_ray_address(os.environ.get("RAY_ADDRESS"))
    t = params.train
    in_process = use_local_mode(t)
    with ThreadPoolExecutor(1) as pool:
        # The MLflow run opens while Ray starts: each takes seconds, mostly waiting on I/O.
        opening = pool.submit(_open_run, params, root, uri, schema, key)
        if in_process:
            # Ray Train's local mode: the train function runs here (or in local processes, one
            # per rank), with no cluster to start.
            logging.getLogger("ray").setLevel(logging.ERROR)
            use_gpu = torch.cuda.is_available()  # local mode takes a GPU when there is one
            scaling = ScalingConfig(num_workers=0)
        else:
            cpus, local = _init_ray(t.num_workers)
            use_gpu = _use_gpu(t.use_gpu, t.num_workers)
            # On the local Ray we started, workers share its CPUs (torch threads follow); on a
            # shared cluster a worker asks for one CPU, so placement never waits on a node
            # that can't fit it.
            cpu_share = max(1, cpus // t.num_workers) if local and not use_gpu else 1
            per_worker = {"GPU": 1, "CPU": 1} if use_gpu else {"CPU": cpu_share}
            check_capacity(t.num_workers, per_worker, _cluster_resources())
            scaling = ScalingConfig(
                num_workers=t.num_workers, use_gpu=use_gpu, resources_per_worker=per_worker
            )
        cli, exp_id, run_id = opening.result()
    for flag in ("bf16", "compile"):  # channels_last is on by default: no note for it
        if getattr(t, flag) and not use_gpu:
            print(f"train: train.{flag} is a no-op on CPU workers (it helps on GPUs only)")
    if t.checkpoint_upload == "async" and in_process:  # loop._report copies in line there
        print("train: train.checkpoint_upload: async is a no-op in local mode (Ray actors only)")
    run_dir = storage.join(storage.resolve(t.storage_path, root), f"gan-{key}")
    best_dir = storage.join(run_dir, "best") if t.keep_best else None
    spec = LoopSpec(
        model_config=mconfig,
        train=t.model_dump(),
        # Workers may run elsewhere: an absolute path (or a URI) they can open themselves.
        prepared_dir=storage.resolve(str(prepared), Path.cwd()),
        tracking_uri=uri,
        run_id=run_id,
        run_key=key,
        best_dir=best_dir,
        fault=os.environ.get("GAN_FAULT") or None,
        run_dir=run_dir,
        in_process=in_process,
    )
    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config=asdict(spec),
        scaling_config=scaling,
        run_config=RunConfig(
            name=f"gan-{key}",
            storage_path=storage.resolve(t.storage_path, root),
            checkpoint_config=CheckpointConfig(num_to_keep=t.keep_checkpoints),
            failure_config=FailureConfig(max_failures=t.max_failures),
        ),
    )
    where = ""
    if in_process:
        where = " (in this process)" if t.num_workers == 1 else " (local processes, no Ray cluster)"
    print(
        f"train: run {key} | {t.num_workers} worker(s){where} on {'GPU' if use_gpu else 'CPU'} | "
        f"{t.steps} steps, global batch {t.batch_size} | MLflow run {run_id}",
        flush=True,
    )
    t0 = time.perf_counter()
    failed: str | None = None
    try:
        with ProgressMonitor(uri, run_id, t.steps, t.batch_size):
            if in_process:
                result = fit_local(trainer, t.num_workers, t.max_failures)
            else:
                result = trainer.fit()
    except TrainingFailedError as exc:
        failed = str(exc)
    except Exception as exc:
        if not in_process:
            raise
        # Local mode raises the raw error; a local group, its failed rank's traceback.
        own = isinstance(exc, LocalGroupError)
        failed = str(exc) if own else "".join(traceback.format_exception(exc)).strip()
    if failed is not None:
        # The worker's own record of a NaN or collapse stop is the exact reason: keep it.
        recorded = cli.get_run(run_id).data.tags.get("failure")
        cli.set_tag(run_id, "failure", recorded or _reason(failed))
        cli.set_terminated(run_id, status="FAILED")
        raise TrainingError(f"training run {key} failed (MLflow run {run_id}):\n{failed}")
    wall = time.perf_counter() - t0
    with result.checkpoint.as_directory() as d:
        state = load_checkpoint_dir(d)
    trained, best = int(state["step"]), dict(state.get("best", {}))
    if t.export == "best" and best_dir:
        state = load_best(best_dir)
        print(f"train: exporting the best checkpoint, step {state['step']} (train.export: best)")
    cli.set_terminated(run_id, status="FINISHED")
    latest = cli.get_run(run_id).data.metrics
    summary = TrainResult(
        run_id=run_id,
        run_key=key,
        params_hash=params_hash(params.model, params.train),
        data_hash=schema["data_hash"],
        experiment_id=exp_id,
        step=trained,
        start_step=int(result.metrics.get("start_step", 0)),
        wall_time_s=round(wall, 2),
        final_metrics={
            k: latest[k]
            for k in (*PHASE_KEYS, "perf/samples_per_s", "aug/p", "monitor/fd_pixels")
            if k in latest
        },
        exported_step=int(state["step"]),
        best=best,
    )
    return summary, state


def _open_run(
    params: Params, root: Path, uri: str, schema: dict[str, Any], key: str
) -> tuple[Any, str, str]:
    """The run's MLflow experiment and run, found or created; (client, experiment, run id)."""
    cli = client(uri)
    exp_id = ensure_experiment(cli, params.train.experiment_name, root)
    tags = {"data_hash": schema["data_hash"], "git_commit": git_commit(root)}
    run_id, created = find_or_create_run(cli, exp_id, key, f"train-{key}", tags)
    if not created and "failure" in cli.get_run(run_id).data.tags:
        cli.delete_tag(run_id, "failure")  # a new attempt (maybe under a changed policy)
    if created:
        # The stage reads only `model` and `train`; the data is described by its schema.
        logged = flatten({"model": params.model.model_dump(), "train": params.train.model_dump()})
        keys = ("kind", "source", "image_size", "channels", "data_hash")
        data = {f"data.{k}": schema[k] for k in keys if k in schema}
        RunWriter(uri, run_id).params({**logged, **data})
    return cli, exp_id, run_id


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
    _write_json(out_root / paths.TRAIN_RUN, pointer)
    metrics = {
        "step": result.step,
        "start_step": result.start_step,
        "wall_time_s": result.wall_time_s,
        "exported_step": result.exported_step,
        **{f"best_{k}": v for k, v in result.best.items()},
        **result.final_metrics,
    }
    _write_json(out_root / paths.METRICS / "train.json", metrics)
    _write_loss_curves(client(uri), result.run_id, out_root / paths.PLOTS / "losses.csv")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _write_loss_curves(cli: Any, run_id: str, out: Path) -> None:
    # A resumed run re-logs the steps after its checkpoint: keep each step's newest value.
    rows: dict[int, dict[str, float]] = {}
    names = {k: k.split("/")[-1] for k in PHASE_KEYS}
    for key, col in names.items():
        for m in sorted(cli.get_metric_history(run_id, key), key=lambda m: m.timestamp):
            rows.setdefault(m.step, {})[col] = m.value
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["step", *names.values()])
        w.writeheader()
        for step in sorted(rows):
            w.writerow({"step": step, **rows[step]})


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

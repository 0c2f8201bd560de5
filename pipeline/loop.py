"""The Ray Train worker loop: the workers' only module that imports ray.train (the driver's is
pipeline/ray_driver.py).

Every rank runs `train_loop_per_worker`. Randomness is a pure function of (seed, rank, step),
so a run resumed from a checkpoint sees the same batches and latents as one never interrupted;
checkpoints also carry every rank's global RNG states for any code that draws from them. The
rank's kind (its batches, conditioning, probe and preview) is looked up once, from the spec.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import ray.train
import ray.train.torch
import torch
import torch.distributed as dist
from torch import nn

from ganmodels.build import build_discriminator, build_generator
from ganmodels.ema import make_ema
from pipeline import kinds, storage
from pipeline.checkpoints import persist, rng_state, save_best, set_rng_state, write_checkpoint
from pipeline.data import PreparedDataError
from pipeline.errors import PipelineError
from pipeline.guards import (
    CollapseError,
    DivergenceError,
    LastGood,
    Monitor,
    diverged,
    parse_fault,
)
from pipeline.kinds.base import RankData
from pipeline.phases import PHASE_KEYS, Phases, Recipe, ddp_buffer_kwargs, unwrap
from pipeline.resume import refuse_replay, resume
from pipeline.streams import seeded
from pipeline.tracking import TrainingRun

if TYPE_CHECKING:
    from pipeline.config import TrainConfig


@dataclass(frozen=True)
class LoopSpec:
    """Everything a worker needs; Ray ships it (typed config included) to any node."""

    model_config: dict[str, Any]  # its "kind" picks the rank data the worker draws
    train: TrainConfig
    prepared_dir: str
    tracking_uri: str
    run_id: str
    run_key: str
    # Where the best checkpoint (by the kind's probe) is kept; None: not kept.
    best_dir: str | None = None
    # Fault injection for tests, e.g. "nan@45:D_main" (from $GAN_FAULT on the driver).
    fault: str | None = None
    # The run's folder under train.storage_path: where its checkpoints are.
    run_dir: str | None = None
    # Trained in Ray Train's local mode (the driver's process, or local rank processes), which
    # persists no checkpoints: rank 0 copies each into run_dir, as Ray's controller would.
    in_process: bool = False

    def __repr__(self) -> str:
        # Short: Ray shows it in its dashboard state, and a table's config holds its transformer.
        return f"LoopSpec(run {self.run_key}, {self.train.steps} steps, {self.prepared_dir})"


# Errors that recur identically when the group restarts from its checkpoint (seeded data and
# latents, same files): Ray's FailureConfig would retry them, so a restart re-raises at once.
NOT_RETRIED = (DivergenceError, CollapseError, PipelineError, PreparedDataError)


@dataclass
class Rank:
    """One rank's training state between steps."""

    spec: LoopSpec
    rank: int
    world: int
    phases: Phases
    data: RankData
    writer: TrainingRun | None  # rank 0 only
    start_step: int
    best: dict[str, Any]  # step and score of the best checkpoint so far


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point (Ray refuses tensors in a worker's return value)."""
    spec: LoopSpec = config["spec"]
    try:
        run_worker(spec)
    except NOT_RETRIED as error:
        if ray.train.get_context().get_world_rank() == 0:
            TrainingRun(spec.tracking_uri, spec.run_id).fail(error)
        raise


def run_worker(spec: LoopSpec) -> tuple[nn.Module, nn.Module]:
    """One DDP rank of training: phases, checks, rollback, checkpoints; returns (G, D)."""
    r = _start(spec)
    _train(r)
    return r.phases.G, r.phases.D


def _start(spec: LoopSpec) -> Rank:
    """Build (or resume) this rank's networks, optimizers and data."""
    t = spec.train
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    # bf16 autocast and torch.compile help on GPUs only (the driver logs the CPU no-op).
    on_gpu = device.type == "cuda"
    writer = TrainingRun(spec.tracking_uri, spec.run_id) if rank == 0 else None  # MLflow: rank 0
    refuse_replay(writer, world)

    torch.manual_seed(t.seed)  # identical init on every rank (DDP also broadcasts rank 0's)
    G, D = build_generator(spec.model_config), build_discriminator(spec.model_config)
    G_ema = make_ema(G)
    state, problems = resume(ray.train.get_checkpoint(), spec, rank, world)
    if state:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        G_ema.load_state_dict(state["G_ema"])
    G_ema.to(device)
    data = kinds.for_model_config(spec.model_config).rank_data(
        spec.prepared_dir, spec.model_config, t, rank, world, device
    )
    if data.memory_format is not None:
        for model in (G, D, G_ema):
            model.to(memory_format=data.memory_format)
    if t.compile and on_gpu:
        G.compile()  # in place: state_dict keys and the DDP wrapper stay as they are
        D.compile()

    ddp_kwargs = ddp_buffer_kwargs()
    G = ray.train.torch.prepare_model(G, parallel_strategy_kwargs=ddp_kwargs)
    D = ray.train.torch.prepare_model(D, parallel_strategy_kwargs=ddp_kwargs)
    recipe = Recipe.from_train(t, bf16=t.bf16 and on_gpu)
    phases = Phases(G, D, G_ema, recipe, data.conditioning, data.moment_views)
    phases.poison = parse_fault(spec.fault)
    if state:
        phases.load_state_dict(state["phases"], keep_ada_stats=rank == 0)
        if len(state.get("rng", [])) == world:
            set_rng_state(state["rng"][rank])
    start = state["step"] if state else 0
    if writer:
        writer.started(start, problems)
    best = dict(state.get("best", {})) if state else {}
    return Rank(spec, rank, world, phases, data, writer, start, best)


def _train(r: Rank) -> None:
    """Steps until train.steps, with checks, logs, previews and checkpoints at their intervals."""
    t, phases, writer = r.spec.train, r.phases, r.writer
    monitor = Monitor(r.world, t.collapse_window)
    last_good = LastGood(r.start_step, phases)
    step = r.start_step
    window_start, window_t0 = step, time.perf_counter()
    while step < t.steps:
        reals = [r.data.batch(step * t.d_steps + i) for i in range(t.d_steps)]
        monitor.add(step, phases.step(reals, step, seeded("latents", t.seed, r.rank, step)))
        done = step + 1
        if done % t.ada_interval == 0:
            phases.adjust_augment()
        checkpoint = done % t.checkpoint_every == 0 or done == t.steps
        if done % t.log_every == 0 or checkpoint:
            # Checked before any checkpoint, so a checkpoint never holds NaN weights.
            try:
                means, alarm = monitor.check()
            except DivergenceError as exc:
                step = diverged(exc, done, phases, last_good, writer, t)
                window_start, window_t0 = step, time.perf_counter()
                continue
            if writer:
                row = dict(zip(PHASE_KEYS, means.tolist(), strict=True))
                elapsed = time.perf_counter() - window_t0
                row["perf/samples_per_s"] = t.batch_size * (done - window_start) / elapsed
                row["aug/p"] = phases.augment_p
                row["train/lr_scale"] = phases.lr_scale
                writer.log(done, row)
                if alarm:
                    writer.alert(done, "collapse", alarm)
            if alarm and t.stop_on_collapse:
                raise CollapseError(f"step {done}: {alarm} (train.stop_on_collapse is true)")
            window_start, window_t0 = done, time.perf_counter()
        if writer and (done % t.sample_every == 0 or done == t.steps):
            picture = r.data.preview(phases.G_ema)
            if picture is not None:
                writer.image(picture, f"samples/step_{done:07d}.png")
        if checkpoint:
            _checkpoint(r, done, last_good)
        step = done
    if r.start_step >= t.steps:
        # Nothing left to train (a finished run re-entered): re-report so the driver has a result.
        _report(r, r.start_step, False)


def _checkpoint(r: Rank, step: int, last_good: LastGood) -> None:
    """Score G_ema with the kind's probe (keeping the best), report the checkpoint, and hold
    its state as the last good one (what a divergence rolls back to)."""
    keep, blocked_at = False, time.perf_counter()
    score = r.data.probe(r.phases.G_ema) if r.writer else None
    if r.writer and score is not None:
        name = r.data.probe_name
        r.writer.log(step, {f"monitor/{name}": score})
        if score < r.best.get(name, float("inf")):
            r.best, keep = {"step": step, name: score}, r.spec.best_dir is not None
    _report(r, step, keep)
    last_good.save(step, r.phases)
    if r.writer:  # how long training waited on this checkpoint (probe, write, upload)
        r.writer.log(step, {"perf/checkpoint_s": time.perf_counter() - blocked_at})


def _report(r: Rank, step: int, keep_as_best: bool) -> None:
    # report() is a barrier: every rank calls it; only rank 0 hands over a checkpoint.
    metrics = {"step": step, "start_step": r.start_step}
    phases, spec, t = r.phases, r.spec, r.spec.train
    ada_stats = phases.ada_stats.clone()
    rngs = [rng_state()]
    if r.world > 1:
        dist.all_reduce(ada_stats)  # every rank's ADA evidence since the last adjustment
        rngs = [None] * r.world
        dist.all_gather_object(rngs, rng_state())
    if r.rank != 0:
        ray.train.report(metrics)
        return
    state = {
        "step": step,
        "G": _to_cpu(unwrap(phases.G).state_dict()),
        "D": _to_cpu(unwrap(phases.D).state_dict()),
        "G_ema": _to_cpu(phases.G_ema.state_dict()),
        # Optimizers, augmentation p and ADA evidence, rollbacks and lr scale. No AMP scaler:
        # bf16 autocast needs none.
        "phases": _to_cpu({**phases.state_dict(), "ada_stats": ada_stats}),
        "rng": _to_cpu(rngs),  # per rank: torch, CUDA, numpy, python
        # The data position: batches are a pure function of (seed, rank, draw index).
        "data": {"draws": step * t.d_steps, "seed": t.seed, "world_size": r.world},
        "best": r.best,  # step and score of the best checkpoint so far
        "model_config": spec.model_config,
        "run_key": spec.run_key,
    }
    best_dir = spec.best_dir if keep_as_best else None
    if spec.in_process and spec.run_dir:
        with tempfile.TemporaryDirectory() as tmp:
            write_checkpoint(Path(tmp), state)
            if best_dir:
                save_best(Path(tmp), best_dir, step)  # beside the last-K retention
            kept = persist(Path(tmp), spec.run_dir, t.keep_checkpoints)
        fs, path = storage.filesystem(kept)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint(path, filesystem=fs))
        return
    tmp = Path(tempfile.mkdtemp(prefix="gan-checkpoint-"))
    write_checkpoint(tmp, state)
    if best_dir:
        save_best(tmp, best_dir, step)  # beside Ray's last-K retention
    # Ray copies the folder into the run's storage, keeps the newest keep_checkpoints, and
    # deletes the local folder; with async upload it copies while training goes on.
    async_ = t.checkpoint_upload == "async"
    mode = ray.train.CheckpointUploadMode.ASYNC if async_ else ray.train.CheckpointUploadMode.SYNC
    ray.train.report(
        metrics,
        checkpoint=ray.train.Checkpoint.from_directory(str(tmp)),
        checkpoint_upload_mode=mode,
        delete_local_checkpoint_after_upload=True,
    )


def param_digest(model: nn.Module) -> np.ndarray:
    """Flat float64 copy of all parameters (tests compare ranks with it)."""
    return torch.cat(
        [p.detach().double().flatten().cpu() for p in unwrap(model).parameters()]
    ).numpy()

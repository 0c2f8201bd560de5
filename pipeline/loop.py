"""The Ray Train worker loop: the only module that imports ray.train.

Every rank runs `train_loop_per_worker`. Randomness is a pure function of (seed, rank, step),
so a run resumed from a checkpoint sees the same batches and latents as one never interrupted;
checkpoints also carry every rank's global RNG states for any code that draws from them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray.train
import ray.train.torch
import torch
import torch.distributed as dist
from torch import nn

from ganmodels import build_discriminator, build_generator, to_uint8
from ganmodels.ema import make_ema
from pipeline import storage
from pipeline.batches import ImageBatches, TableBatches
from pipeline.checkpoints import (
    CheckpointError,
    ResumePoint,
    find_resume_point,
    newest_checkpoint,
    persist,
    rng_state,
    save_best,
    set_aside,
    set_rng_state,
    write_checkpoint,
)
from pipeline.config import PipelineError
from pipeline.data import PreparedDataError
from pipeline.grid import make_grid
from pipeline.guards import (
    CollapseError,
    DivergenceError,
    LastGood,
    Monitor,
    PixelFD,
    parse_fault,
)
from pipeline.phases import (
    PHASE_KEYS,
    Phases,
    Recipe,
    ddp_buffer_kwargs,
    seeded,
    unwrap,
)


@dataclass(frozen=True)
class LoopSpec:
    """Everything a worker needs; plain data so Ray can ship it to any node."""

    model_config: dict[str, Any]
    train: dict[str, Any]
    prepared_dir: str
    tracking_uri: str
    run_id: str
    run_key: str
    # Where the best checkpoint (by monitor/fd_pixels) is kept; None: not kept.
    best_dir: str | None = None
    # Fault injection for tests, e.g. "nan@45:D_main" (from $GAN_FAULT on the driver).
    fault: str | None = None
    # The run's folder under train.storage_path: where its checkpoints are.
    run_dir: str | None = None
    # Trained in Ray Train's local mode (the driver's process, or local rank processes), which
    # persists no checkpoints: rank 0 copies each into run_dir, as Ray's controller would.
    in_process: bool = False


# Errors that recur identically when the group restarts from its checkpoint (seeded data and
# latents, same files): Ray's FailureConfig would retry them, so a restart re-raises at once.
NOT_RETRIED = (DivergenceError, CollapseError, PipelineError, PreparedDataError)
REPLAYED = {cls.__name__: cls for cls in (DivergenceError, CollapseError)}


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


class Writer:
    """Rank 0's single sink for metrics, events and sample grids (the driver reads them)."""

    def __init__(self, spec: LoopSpec) -> None:
        from pipeline.tracking import RunWriter  # MLflow only on rank 0

        self.run = RunWriter(spec.tracking_uri, spec.run_id)

    def log(self, step: int, values: dict[str, float]) -> None:
        """Record one row of metrics."""
        self.run.metrics(values, step)

    def tag(self, key: str, value: str) -> None:
        """Set a run tag."""
        self.run.cli.set_tag(self.run.run_id, key, value[:5000])

    def alert(self, step: int, name: str, message: str) -> None:
        """Record an alarm: a metric `alert/<name>` at the step and a run tag with the message."""
        self.log(step, {f"alert/{name}": 1.0})
        self.tag(f"alert.{name}", f"step {step}: {message}")

    def event(self, step: int, name: str, count: int, message: str) -> None:
        """Record the count-th event of a kind (restart, rollback): metric and tag."""
        self.log(step, {f"event/{name}": float(count)})
        self.tag(f"event.{name}.{count}", f"step {step}: {message}")

    def started(self, step: int, problems: list[str]) -> None:
        """Mark a (re)start; on a resume, the steps logged past the checkpoint are lost."""
        cli, run_id = self.run.cli, self.run.run_id
        last = max((m.step for m in cli.get_metric_history(run_id, "loss/D_main")), default=0)
        starts = len(cli.get_metric_history(run_id, "train/start_step"))
        self.log(step, {"train/start_step": float(step)})  # 0 for a fresh start
        if starts:
            lost = max(0, last - step)
            self.log(step, {"train/lost_steps": float(lost)})
            self.event(
                step,
                "restart",
                starts,
                f"resumed from the checkpoint at step {step}; {lost} step(s) trained after it "
                f"(logged up to step {last}) are retrained",
            )
        for i, problem in enumerate(problems, 1):
            self.tag(f"event.checkpoint_skipped.{starts}.{i}", problem)

    def fail(self, error: Exception) -> None:
        """Record a deterministic failure (the first of this attempt), for restarts to re-raise."""
        if "failure" not in self.run.cli.get_run(self.run.run_id).data.tags:
            self.tag("failure", f"{type(error).__name__}: {error}")

    def samples(self, step: int, images: torch.Tensor) -> None:
        """Log a sample grid of G_ema's fixed latents."""
        self.run.image(make_grid(to_uint8(images).cpu().numpy()), f"samples/step_{step:07d}.png")


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point (Ray refuses tensors in a worker's return value)."""
    try:
        run_worker(config)
    except NOT_RETRIED as error:
        if ray.train.get_context().get_world_rank() == 0:
            Writer(LoopSpec(**config)).fail(error)
        raise


def _refuse_replay(writer: Writer | None, world: int) -> None:
    # A NaN or collapse stop recurs when retried from the checkpoint (seeded data and latents),
    # and Ray's FailureConfig retries any worker error: re-raise at once instead.
    box = [writer.run.cli.get_run(writer.run.run_id).data.tags.get("failure") if writer else None]
    if world > 1:
        dist.broadcast_object_list(box, src=0)
    if box[0]:
        name, _, message = box[0].partition(": ")
        raise REPLAYED.get(name, PipelineError)(f"{message} (not retried: it recurs identically)")


def _resume(spec: LoopSpec, rank: int, world: int) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest whole checkpoint's state (None: step 0) and one line per folder skipped."""
    ckpt = ray.train.get_checkpoint()
    # Ray offers none in local mode, or when its run record is gone: look in the run folder.
    found = (ckpt.path, ckpt.filesystem) if ckpt else None
    if found is None and spec.run_dir:
        found = newest_checkpoint(spec.run_dir)
    if found is None:
        return None, []
    point = find_resume_point(*found)
    state = point.state
    if state and state.get("run_key") != spec.run_key:  # never continue another run's weights
        raise CheckpointError(f"checkpoint of run {state.get('run_key')} offered to {spec.run_key}")
    if world > 1:
        dist.barrier()  # every rank has read the folders before any is set aside
    if rank == 0:
        _set_aside(point, spec, found[1])
    return state, point.notes


def _set_aside(point: ResumePoint, spec: LoopSpec, fs: Any) -> None:
    # Where rank 0 persists checkpoints itself (local mode) the run folder is ours to tidy; on
    # Ray actors, Ray's checkpoint manager owns the folders and prunes them.
    if spec.in_process and point.incomplete:
        set_aside(point.incomplete, fs)
    for note in point.notes:
        print(f"train: {note}", flush=True)
    if point.state is not None:
        print(f"train: resuming from the checkpoint at step {point.state['step']}", flush=True)
    elif point.incomplete:
        print("train: no whole checkpoint to resume from: starting from step 0", flush=True)


def run_worker(config: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """One DDP rank of training: phases, checks, rollback, checkpoints; returns (G, D)."""
    spec = LoopSpec(**config)
    t = spec.train
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    # bf16 autocast and torch.compile help on GPUs only (the driver logs the CPU no-op).
    on_gpu = device.type == "cuda"
    writer = Writer(spec) if rank == 0 else None
    _refuse_replay(writer, world)

    torch.manual_seed(t["seed"])  # identical init on every rank (DDP also broadcasts rank 0's)
    G, D = build_generator(spec.model_config), build_discriminator(spec.model_config)
    G_ema = make_ema(G)
    state, problems = _resume(spec, rank, world)
    if state:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        G_ema.load_state_dict(state["G_ema"])
    start_step = state["step"] if state else 0
    G_ema.to(device)
    table = spec.model_config["architecture"] == "ctgan"
    # NHWC lets cuDNN pick tensor-core kernels without layout transposes (benchmarks/gpu.py).
    layout = torch.channels_last if t["channels_last"] and on_gpu and not table else None
    if layout:
        for model in (G, D, G_ema):
            model.to(memory_format=layout)
    if t["compile"] and on_gpu:
        G.compile()  # in place: state_dict keys and the DDP wrapper stay as they are
        D.compile()

    ddp_kwargs = ddp_buffer_kwargs()
    G = ray.train.torch.prepare_model(G, parallel_strategy_kwargs=ddp_kwargs)
    D = ray.train.torch.prepare_model(D, parallel_strategy_kwargs=ddp_kwargs)
    phases = Phases(G, D, G_ema, Recipe.from_train(t, bf16=t["bf16"] and on_gpu))
    phases.poison = parse_fault(spec.fault)
    if state:
        phases.load_state_dict(state["phases"], keep_ada_stats=rank == 0)
        if len(state.get("rng", [])) == world:
            set_rng_state(state["rng"][rank])

    per_rank = t["batch_size"] // world
    conditional = spec.model_config.get("num_classes", 0) > 0
    batches: ImageBatches | TableBatches
    probe = None
    if table:
        batches = TableBatches(spec.prepared_dir, per_rank, rank, t["seed"], device)
        phases.conditioner = batches.conditioner
    else:
        batches = ImageBatches(
            spec.prepared_dir, per_rank, rank, world, t["seed"], conditional, device,
            layout or torch.contiguous_format,
        )  # fmt: skip
        grid_gen = seeded("grid-latents", t["seed"])
        fixed_z = torch.randn(64, phases.z_dim, generator=grid_gen).to(device)
        fixed_y = (torch.arange(64, device=device) % phases.num_classes) if conditional else None
        if rank == 0:
            probe = PixelFD(batches.data, batches.targets, phases.z_dim, t["seed"])
    best: dict[str, Any] = dict(state.get("best", {})) if state else {}
    if writer:
        writer.started(start_step, problems)

    monitor = Monitor(world, t["collapse_window"])
    last_good = LastGood(start_step, phases)
    step = start_step
    window_start, window_t0 = step, time.perf_counter()
    while step < t["steps"]:
        reals = [batches.batch(step * t["d_steps"] + i) for i in range(t["d_steps"])]
        monitor.add(step, phases.step(reals, step, seeded("latents", t["seed"], rank, step)))
        done = step + 1
        if done % t["ada_interval"] == 0:
            phases.adjust_augment()
        checkpoint = done % t["checkpoint_every"] == 0 or done == t["steps"]
        if done % t["log_every"] == 0 or checkpoint:
            # Checked before any checkpoint, so a checkpoint never holds NaN weights.
            try:
                means, alarm = monitor.check()
            except DivergenceError as exc:
                step = _diverged(exc, done, phases, last_good, writer, t)
                window_start, window_t0 = step, time.perf_counter()
                continue
            if writer:
                row = dict(zip(PHASE_KEYS, means.tolist(), strict=True))
                elapsed = time.perf_counter() - window_t0
                row["perf/samples_per_s"] = t["batch_size"] * (done - window_start) / elapsed
                row["aug/p"] = phases.augment_p
                row["train/lr_scale"] = phases.lr_scale
                writer.log(done, row)
                if alarm:
                    writer.alert(done, "collapse", alarm)
            if alarm and t["stop_on_collapse"]:
                raise CollapseError(f"step {done}: {alarm} (train.stop_on_collapse is true)")
            window_start, window_t0 = done, time.perf_counter()
        if writer and not table and (done % t["sample_every"] == 0 or done == t["steps"]):
            with torch.no_grad():
                writer.samples(done, G_ema(fixed_z, fixed_y))
        if checkpoint:
            keep, blocked_at = False, time.perf_counter()
            if probe and writer:
                score = probe(G_ema)
                writer.log(done, {"monitor/fd_pixels": score})
                if score < best.get("fd_pixels", float("inf")):
                    best, keep = {"step": done, "fd_pixels": score}, spec.best_dir is not None
            _report(done, start_step, rank, world, phases, spec, best, keep)
            last_good.save(done, phases)
            if writer:  # how long training waited on this checkpoint (probe, write, upload)
                writer.log(done, {"perf/checkpoint_s": time.perf_counter() - blocked_at})
        step = done
    if start_step >= t["steps"]:
        # Nothing left to train (a finished run re-entered): re-report so the driver has a result.
        _report(start_step, start_step, rank, world, phases, spec, best, False)
    return G, D


def _diverged(
    exc: DivergenceError,
    step: int,
    phases: Phases,
    last_good: LastGood,
    writer: Writer | None,
    t: dict[str, Any],
) -> int:
    """Roll back to the last good state (returns its step), or stop naming why."""
    allowed = t["max_rollbacks"] if t["on_divergence"] == "rollback" else 0
    if phases.rollbacks >= allowed:
        where = f"the checkpoint at step {last_good.step}" if last_good.step else "no checkpoint"
        why = f"{exc}: training stopped; the last good state is {where}"
        if allowed:
            why += f" (after {phases.rollbacks} rollback(s): train.max_rollbacks={allowed})"
        raise DivergenceError(why) from None
    back = last_good.restore(phases, t["rollback_lr_factor"])
    if writer:
        message = (
            f"{exc}: rolled back to step {back}, learning rates x{phases.lr_scale:g} "
            f"(rollback {phases.rollbacks} of train.max_rollbacks={allowed})"
        )
        writer.event(step, "rollback", phases.rollbacks, message)
    return back


def _report(
    step: int,
    start_step: int,
    rank: int,
    world: int,
    phases: Phases,
    spec: LoopSpec,
    best: dict[str, Any],
    keep_as_best: bool,
) -> None:
    # report() is a barrier: every rank calls it; only rank 0 hands over a checkpoint.
    metrics = {"step": step, "start_step": start_step}
    ada_stats = phases.ada_stats.clone()
    rngs = [rng_state()]
    if world > 1:
        dist.all_reduce(ada_stats)  # every rank's ADA evidence since the last adjustment
        rngs = [None] * world
        dist.all_gather_object(rngs, rng_state())
    if rank != 0:
        ray.train.report(metrics)
        return
    t = spec.train
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
        "data": {"draws": step * t["d_steps"], "seed": t["seed"], "world_size": world},
        "best": best,  # step and score of the best checkpoint so far
        "model_config": spec.model_config,
        "run_key": spec.run_key,
    }
    if spec.in_process and spec.run_dir:
        with tempfile.TemporaryDirectory() as tmp:
            write_checkpoint(Path(tmp), state)
            if keep_as_best and spec.best_dir:
                save_best(Path(tmp), spec.best_dir, step)  # beside the last-K retention
            kept = persist(Path(tmp), spec.run_dir, t["keep_checkpoints"])
        fs, path = storage.filesystem(kept)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint(path, filesystem=fs))
        return
    tmp = Path(tempfile.mkdtemp(prefix="gan-checkpoint-"))
    write_checkpoint(tmp, state)
    if keep_as_best and spec.best_dir:
        save_best(tmp, spec.best_dir, step)  # beside Ray's last-K retention
    # Ray copies the folder into the run's storage, keeps the newest keep_checkpoints, and
    # deletes the local folder; with async upload it copies while training goes on.
    async_ = t["checkpoint_upload"] == "async"
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

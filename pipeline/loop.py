"""The Ray Train worker loop: the only module that imports ray.train.

Every rank runs `train_loop_per_worker`. Randomness is a pure function of (seed, rank, step),
so a run resumed from a checkpoint sees the same batches and latents as one never interrupted.
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
from pipeline.data import load_split, to_unit_range
from pipeline.grid import make_grid
from pipeline.phases import (
    PHASE_KEYS,
    PHASES,
    Phases,
    Recipe,
    ShardSampler,
    ddp_buffer_kwargs,
    seeded,
    unwrap,
)

CHECKPOINT_FILE = "checkpoint.pt"


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; training stops so the last good checkpoint survives."""


class CollapseError(RuntimeError):
    """The collapse alarm fired and train.stop_on_collapse asked to stop."""


@dataclass(frozen=True)
class LoopSpec:
    """Everything a worker needs; plain data so Ray can ship it to any node."""

    model_config: dict[str, Any]
    train: dict[str, Any]
    prepared_dir: str
    tracking_uri: str
    run_id: str
    run_key: str
    # Fault injection for tests, e.g. "nan@45:D_main" (from $GAN_FAULT on the driver).
    fault: str | None = None


def parse_fault(fault: str | None) -> dict[str, int]:
    """'nan@STEP:PHASE' -> {PHASE: STEP - 1}: that phase's loss becomes NaN in step STEP
    (counted from 1, as the steps of the logged metrics)."""
    if not fault:
        return {}
    try:
        kind, rest = fault.split("@")
        step, phase = rest.split(":")
        if kind != "nan" or phase not in PHASES or int(step) < 1:
            raise ValueError
        return {phase: int(step) - 1}
    except ValueError:
        raise ValueError(
            f"GAN_FAULT={fault!r}: expected nan@STEP:PHASE, PHASE in {PHASES}"
        ) from None


def load_checkpoint_dir(directory: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict safely (weights_only: no code runs from the file)."""
    return torch.load(Path(directory) / CHECKPOINT_FILE, map_location="cpu", weights_only=True)


def _cpu_state(module_or_opt: Any) -> dict[str, Any]:
    return _to_cpu(module_or_opt.state_dict())


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


class Writer:
    """Rank 0's single sink for metrics and sample grids (the driver shows progress from them)."""

    def __init__(self, spec: LoopSpec) -> None:
        from pipeline.tracking import RunWriter  # MLflow only on rank 0

        self.run = RunWriter(spec.tracking_uri, spec.run_id)

    def log(self, step: int, values: dict[str, float]) -> None:
        """Record one row of metrics."""
        self.run.metrics(values, step)

    def alert(self, step: int, name: str, message: str) -> None:
        """Record an alarm: a metric `alert/<name>` at the step and a run tag with the message."""
        self.run.metrics({f"alert/{name}": 1.0}, step)
        self.run.cli.set_tag(self.run.run_id, f"alert.{name}", f"step {step}: {message}")

    def samples(self, step: int, images: torch.Tensor) -> None:
        """Log a sample grid of G_ema's fixed latents."""
        self.run.image(make_grid(to_uint8(images).cpu().numpy()), f"samples/step_{step:07d}.png")


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point (Ray refuses tensors in a worker's return value)."""
    run_worker(config)


class Monitor:
    """Per-step stats of a window, reduced across ranks at each check: NaN/inf and collapse.

    Stats stay on the device between checks (no host sync per step); every rank sees the same
    reduced numbers, so every rank raises together.
    """

    def __init__(self, world: int, collapse_window: int) -> None:
        self.world, self.window = world, collapse_window
        self.rows: list[torch.Tensor] = []
        self.first_step = 0
        self.saturated = 0  # consecutive steps with D right on every sample
        self.alarmed = False

    def add(self, step: int, row: torch.Tensor) -> None:
        """Keep one step's stats row."""
        if not self.rows:
            self.first_step = step
        self.rows.append(row)

    def check(self) -> tuple[torch.Tensor, str | None]:
        """Mean stats row over the window and ranks; raises on NaN/inf; returns any new alarm."""
        table = torch.stack(self.rows)
        if self.world > 1:
            dist.all_reduce(table)
        table = (table / self.world).cpu()
        self.rows = []
        bad = ~torch.isfinite(table[:, :3])  # the loss columns, in PHASES order
        if bad.any():
            i, j = (int(v) for v in bad.nonzero()[0])
            raise DivergenceError(
                f"loss of phase {PHASES[j]} is {table[i, j].item()} at step "
                f"{self.first_step + i + 1}: training stopped; the last checkpoint holds the "
                f"last good state"
            )
        alarm = None
        acc = table[:, PHASE_KEYS.index("D/accuracy")]
        for step_acc in acc.tolist():
            self.saturated = self.saturated + 1 if step_acc >= 1.0 - 1e-6 else 0
            if self.window and self.saturated >= self.window and not self.alarmed:
                self.alarmed = True
                alarm = (
                    f"D has classified every real and fake sample correctly for "
                    f"{self.saturated} steps: G no longer fools it (collapse or divergence)"
                )
        return table.mean(0), alarm


def run_worker(config: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """One DDP rank of training: phases, checks, checkpoints; returns (G, D)."""
    spec = LoopSpec(**config)
    t = spec.train
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    # bf16 autocast and torch.compile help on GPUs only (the driver logs the CPU no-op).
    on_gpu = device.type == "cuda"

    torch.manual_seed(t["seed"])  # identical init on every rank (DDP also broadcasts rank 0's)
    G, D = build_generator(spec.model_config), build_discriminator(spec.model_config)
    G_ema = make_ema(G)
    state: dict[str, Any] | None = None
    ckpt = ray.train.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d:
            state = load_checkpoint_dir(d)
        if state.get("run_key") != spec.run_key:  # never continue another run's weights
            raise ValueError(f"checkpoint of run {state.get('run_key')} offered to {spec.run_key}")
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        G_ema.load_state_dict(state["G_ema"])
    start_step = state["step"] if state else 0
    G_ema.to(device)
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

    images, labels = load_split(spec.prepared_dir, "train")
    data = torch.from_numpy(to_unit_range(images)).to(device)
    conditional = spec.model_config.get("num_classes", 0) > 0
    targets = torch.from_numpy(labels).to(device) if conditional else None
    per_rank = t["batch_size"] // world
    sampler = ShardSampler(len(data), per_rank, rank, world, t["seed"])
    grid_gen = seeded("grid-latents", t["seed"])
    fixed_z = torch.randn(64, phases.z_dim, generator=grid_gen).to(device)
    fixed_y = (torch.arange(64, device=device) % phases.num_classes) if conditional else None
    writer = Writer(spec) if rank == 0 else None
    if writer:
        # Marks each (re)start in the run's history: 0 for a fresh start.
        writer.log(start_step, {"train/start_step": float(start_step)})

    monitor = Monitor(world, t["collapse_window"])
    window_start, window_t0 = start_step, time.perf_counter()
    for step in range(start_step, t["steps"]):
        reals = []
        for i in range(t["d_steps"]):
            rows = sampler.indices(step * t["d_steps"] + i).to(device)
            reals.append((data[rows], targets[rows] if conditional else None))
        monitor.add(step, phases.step(reals, step, seeded("latents", t["seed"], rank, step)))
        done = step + 1
        if done % t["ada_interval"] == 0:
            phases.adjust_augment()
        checkpoint = done % t["checkpoint_every"] == 0 or done == t["steps"]
        if done % t["log_every"] == 0 or checkpoint:
            # Checked before any checkpoint, so a checkpoint never holds NaN weights.
            means, alarm = monitor.check()
            if writer:
                row = dict(zip(PHASE_KEYS, means.tolist(), strict=True))
                elapsed = time.perf_counter() - window_t0
                row["perf/samples_per_s"] = t["batch_size"] * (done - window_start) / elapsed
                row["aug/p"] = phases.augment_p
                writer.log(done, row)
                if alarm:
                    writer.alert(done, "collapse", alarm)
            if alarm and t["stop_on_collapse"]:
                raise CollapseError(f"step {done}: {alarm} (train.stop_on_collapse is true)")
            window_start, window_t0 = done, time.perf_counter()
        if writer and (done % t["sample_every"] == 0 or done == t["steps"]):
            with torch.no_grad():
                writer.samples(done, G_ema(fixed_z, fixed_y))
        if checkpoint:
            _report(done, start_step, rank, phases, spec)
    if start_step >= t["steps"]:
        # Nothing left to train (a finished run re-entered): re-report so the driver has a result.
        _report(start_step, start_step, rank, phases, spec)
    return G, D


def _report(
    step: int,
    start_step: int,
    rank: int,
    phases: Phases,
    spec: LoopSpec,
) -> None:
    # report() is a barrier: every rank calls it; only rank 0 hands over a checkpoint.
    metrics = {"step": step, "start_step": start_step}
    ada_stats = phases.ada_stats.clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(ada_stats)  # every rank's ADA evidence since the last adjustment
    if rank != 0:
        ray.train.report(metrics)
        return
    state = {
        "step": step,
        "G": _cpu_state(unwrap(phases.G)),
        "D": _cpu_state(unwrap(phases.D)),
        "G_ema": _cpu_state(phases.G_ema),
        "phases": _to_cpu({**phases.state_dict(), "ada_stats": ada_stats}),
        "model_config": spec.model_config,
        "run_key": spec.run_key,
    }
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(state, Path(tmp) / CHECKPOINT_FILE)  # Ray then copies the folder to storage
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def param_digest(model: nn.Module) -> np.ndarray:
    """Flat float64 copy of all parameters (tests compare ranks with it)."""
    return torch.cat(
        [p.detach().double().flatten().cpu() for p in unwrap(model).parameters()]
    ).numpy()

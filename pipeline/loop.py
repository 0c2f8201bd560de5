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
from pipeline.phases import PHASE_KEYS, Phases, ShardSampler, ddp_buffer_kwargs, seeded, unwrap

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class LoopSpec:
    """Everything a worker needs; plain data so Ray can ship it to any node."""

    model_config: dict[str, Any]
    train: dict[str, Any]
    prepared_dir: str
    tracking_uri: str
    run_id: str
    run_key: str


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

    def samples(self, step: int, images: torch.Tensor) -> None:
        """Log a sample grid of G_ema's fixed latents."""
        self.run.image(make_grid(to_uint8(images).cpu().numpy()), f"samples/step_{step:07d}.png")


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """Ray Train entry point (Ray refuses tensors in a worker's return value)."""
    run_worker(config)


def run_worker(config: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """One DDP rank of training: D main, G main, EMA, checkpoints each step; returns (G, D)."""
    spec = LoopSpec(**config)
    t = spec.train
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()

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

    ddp_kwargs = ddp_buffer_kwargs()
    G = ray.train.torch.prepare_model(G, parallel_strategy_kwargs=ddp_kwargs)
    D = ray.train.torch.prepare_model(D, parallel_strategy_kwargs=ddp_kwargs)
    phases = Phases(
        G, D, G_ema, lr=t["lr"], betas=(t["beta1"], t["beta2"]), ema_decay=t["ema_decay"]
    )
    if state:
        phases.opt_g.load_state_dict(state["opt_G"])
        phases.opt_d.load_state_dict(state["opt_D"])

    images, _ = load_split(spec.prepared_dir, "train")
    data = torch.from_numpy(to_unit_range(images)).to(device)
    per_rank = t["batch_size"] // world
    sampler = ShardSampler(len(data), per_rank, rank, world, t["seed"])
    z_dim = spec.model_config["z_dim"]
    fixed_z = torch.randn(64, z_dim, generator=seeded("grid-latents", t["seed"])).to(device)
    writer = Writer(spec) if rank == 0 else None
    if writer:
        # Marks each (re)start in the run's history: 0 for a fresh start.
        writer.log(start_step, {"train/start_step": float(start_step)})

    sums = torch.zeros(len(PHASE_KEYS), device=device)
    window_start, window_t0 = start_step, time.perf_counter()
    for step in range(start_step, t["steps"]):
        gen = seeded("latents", t["seed"], rank, step)
        real = data[sampler.indices(step).to(device)]
        z_d = torch.randn(per_rank, z_dim, generator=gen).to(device)
        z_g = torch.randn(per_rank, z_dim, generator=gen).to(device)
        sums += phases.step(real, z_d, z_g, step)
        done = step + 1
        if done % t["log_every"] == 0 or done == t["steps"]:
            if world > 1:
                dist.all_reduce(sums)
            values = (sums / (world * (done - window_start))).tolist()
            elapsed = time.perf_counter() - window_t0
            if writer:
                row = dict(zip(PHASE_KEYS, values, strict=True))
                row["perf/samples_per_s"] = t["batch_size"] * (done - window_start) / elapsed
                writer.log(done, row)
            sums.zero_()
            window_start, window_t0 = done, time.perf_counter()
        if writer and (done % t["sample_every"] == 0 or done == t["steps"]):
            with torch.no_grad():
                writer.samples(done, G_ema(fixed_z))
        if done % t["checkpoint_every"] == 0 or done == t["steps"]:
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
    if rank != 0:
        ray.train.report(metrics)
        return
    state = {
        "step": step,
        "G": _cpu_state(unwrap(phases.G)),
        "D": _cpu_state(unwrap(phases.D)),
        "G_ema": _cpu_state(phases.G_ema),
        "opt_G": _cpu_state(phases.opt_g),
        "opt_D": _cpu_state(phases.opt_d),
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

"""The Ray Train worker loop: the only module that imports ray.train.

Every rank runs `train_loop_per_worker`. Randomness is a pure function of (seed, rank, step),
so a run resumed from a checkpoint sees the same batches and latents as one never interrupted.
"""

from __future__ import annotations

import contextlib
import inspect
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
from torch.nn.parallel import DistributedDataParallel

from ganmodels import build_discriminator, build_generator, to_uint8
from ganmodels.ema import make_ema, update_ema
from ganmodels.losses import d_loss_bce, g_loss_nonsaturating
from pipeline.data import load_split, to_unit_range
from pipeline.grid import make_grid

CHECKPOINT_FILE = "checkpoint.pt"
# Metric keys: training phases (stylegan2-ada style) plus D's mean probabilities.
PHASE_KEYS = ("loss/D_main", "loss/G_main", "D/real", "D/fake")


@dataclass(frozen=True)
class LoopSpec:
    """Everything a worker needs; plain data so Ray can ship it to any node."""

    model_config: dict[str, Any]
    train: dict[str, Any]
    prepared_dir: str
    tracking_uri: str
    run_id: str
    run_key: str


def _unwrap(model: nn.Module) -> nn.Module:
    # prepare_model wraps in DDP only when world size > 1.
    return model.module if hasattr(model, "module") else model


def _seeded(seed: int, *parts: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(hash((seed, *parts)) & 0x7FFF_FFFF_FFFF_FFFF)
    return gen


class ShardSampler:
    """Per-epoch permutation of the train split, dealt round-robin to ranks (drop-last)."""

    def __init__(self, n: int, batch: int, rank: int, world: int, seed: int) -> None:
        self.n, self.batch, self.rank, self.world, self.seed = n, batch, rank, world, seed
        self.per_epoch = (n // world) // batch
        if self.per_epoch < 1:
            raise ValueError(f"train split has {n} rows: too few for {world} x batch {batch}")
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        """Row indices of this rank's batch at a global step."""
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            perm = torch.randperm(self.n, generator=_seeded(self.seed, 7, epoch))
            self._epoch, self._order = epoch, perm[self.rank :: self.world]
        return self._order[i * self.batch : (i + 1) * self.batch]


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a plain-dict checkpoint (CPU tensors) atomically."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


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


def _ddp_kwargs() -> dict[str, bool]:
    # D runs two forwards (real, fake) before one backward: a buffer broadcast in between
    # bumps BN's version counter (pytorch#175024), so buffers stay rank-local at runtime.
    params = inspect.signature(DistributedDataParallel).parameters
    key = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return {key: False}


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
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        G_ema.load_state_dict(state["G_ema"])
    start_step = state["step"] if state else 0
    G_ema.to(device)

    ddp_kwargs = _ddp_kwargs()
    G = ray.train.torch.prepare_model(G, parallel_strategy_kwargs=ddp_kwargs)
    D = ray.train.torch.prepare_model(D, parallel_strategy_kwargs=ddp_kwargs)
    betas = (t["beta1"], t["beta2"])
    opt_g = torch.optim.Adam(G.parameters(), lr=t["lr"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=t["lr"], betas=betas)
    if state:
        opt_g.load_state_dict(state["opt_G"])
        opt_d.load_state_dict(state["opt_D"])

    images, _ = load_split(Path(spec.prepared_dir), "train")
    data = torch.from_numpy(to_unit_range(images)).to(device)
    per_rank = t["batch_size"] // world
    sampler = ShardSampler(len(data), per_rank, rank, world, t["seed"])
    z_dim = spec.model_config["z_dim"]
    fixed_z = torch.randn(64, z_dim, generator=_seeded(t["seed"], 99)).to(device)
    writer = Writer(spec) if rank == 0 else None
    if writer:
        # Marks each (re)start in the run's history: 0 for a fresh start.
        writer.log(start_step, {"train/start_step": float(start_step)})

    sums = torch.zeros(len(PHASE_KEYS), device=device)
    window_start, window_t0 = start_step, time.perf_counter()
    for step in range(start_step, t["steps"]):
        gen = _seeded(t["seed"], rank, step)
        real = data[sampler.indices(step).to(device)]
        z = torch.randn(per_rank, z_dim, generator=gen).to(device)
        # Phase D_main: real vs detached fakes.
        with torch.no_grad():
            fake = G(z)
        real_logits, fake_logits = D(real), D(fake)
        loss_d = d_loss_bce(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # Phase G_main: D's gradients here are discarded, so skip their all-reduce.
        z = torch.randn(per_rank, z_dim, generator=gen).to(device)
        fake = G(z)
        with D.no_sync() if hasattr(D, "no_sync") else contextlib.nullcontext():
            g_logits = D(fake)
        loss_g = g_loss_nonsaturating(g_logits)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        # EMA ramp-up: early on the average would mostly hold the random init.
        update_ema(G_ema, _unwrap(G), min(t["ema_decay"], (1 + step) / (10 + step)))

        with torch.no_grad():  # accumulate on device: no host sync per step
            sums += torch.stack(
                [
                    loss_d,
                    loss_g,
                    torch.sigmoid(real_logits).mean(),
                    torch.sigmoid(fake_logits).mean(),
                ]
            ).detach()
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
            _report(done, start_step, rank, G, D, G_ema, opt_g, opt_d, spec)
    if start_step >= t["steps"]:
        # Nothing left to train (a finished run re-entered): re-report so the driver has a result.
        _report(start_step, start_step, rank, G, D, G_ema, opt_g, opt_d, spec)
    return G, D


def _report(
    step: int,
    start_step: int,
    rank: int,
    G: nn.Module,
    D: nn.Module,
    G_ema: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    spec: LoopSpec,
) -> None:
    # report() is a barrier: every rank calls it; only rank 0 hands over a checkpoint.
    metrics = {"step": step, "start_step": start_step}
    if rank != 0:
        ray.train.report(metrics)
        return
    state = {
        "step": step,
        "G": _cpu_state(_unwrap(G)),
        "D": _cpu_state(_unwrap(D)),
        "G_ema": _cpu_state(G_ema),
        "opt_G": _cpu_state(opt_g),
        "opt_D": _cpu_state(opt_d),
        "model_config": spec.model_config,
        "run_key": spec.run_key,
    }
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(Path(tmp) / CHECKPOINT_FILE, state)
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))


def param_digest(model: nn.Module) -> np.ndarray:
    """Flat float64 copy of all parameters (tests compare ranks with it)."""
    return torch.cat(
        [p.detach().double().flatten().cpu() for p in _unwrap(model).parameters()]
    ).numpy()

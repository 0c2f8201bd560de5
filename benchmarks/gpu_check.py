"""GPU check (run by hand on a CUDA machine): the training step under NCCL DDP, throughput.

Drives pipeline.phases (the exact step the Ray loop runs) in a one-rank NCCL process group,
checks that sampling is device-independent and a GPU checkpoint reloads on the CPU, and prints
samples/s per resolution. Needs only torch; Ray and MLflow are not used here.

    python benchmarks/gpu_check.py [--out results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganmodels import build_discriminator, build_generator, generate, generator_from_state  # noqa: E402
from ganmodels.ema import make_ema  # noqa: E402
from pipeline.phases import PHASE_KEYS, Phases, Recipe, ddp_buffer_kwargs  # noqa: E402


def throughput(image_size: int, channels: int, batch: int, steps: int) -> dict:
    """samples/s of the DDP-wrapped step at one resolution."""
    cfg = {
        "architecture": "dcgan",
        "z_dim": 64,
        "channels": channels,
        "image_size": image_size,
        "g_channels": 64,
        "d_channels": 64,
    }
    torch.manual_seed(0)
    G, D = build_generator(cfg).cuda(), build_discriminator(cfg).cuda()
    G_ema = make_ema(G)
    kw = ddp_buffer_kwargs()
    G, D = (
        DistributedDataParallel(G, device_ids=[0], **kw),
        DistributedDataParallel(D, device_ids=[0], **kw),
    )
    recipe = Recipe(
        objective="bce", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), d_steps=1, r1_gamma=0.0,
        r1_interval=16, gp_weight=0.0, ema_decay=0.999, augment=(), augment_p=0.0,
        ada_target=0.0, ada_interval=4, ada_speed_images=100_000,
    )  # fmt: skip
    phases = Phases(G, D, G_ema, recipe)
    real = torch.rand(batch, channels, image_size, image_size, device="cuda") * 2 - 1
    stats = torch.zeros(len(PHASE_KEYS), device="cuda")
    for i in range(20):
        stats += phases.step([(real, None)], i, torch.Generator().manual_seed(i))
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(steps):
        stats += phases.step([(real, None)], i, torch.Generator().manual_seed(i))
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    finite = bool(torch.isfinite(stats).all())
    # A checkpoint made on the GPU (CPU copies of the state) reloads on the CPU, bit for bit.
    buf = io.BytesIO()
    torch.save(
        {"model_config": cfg, "state_dict": {k: v.cpu() for k, v in G_ema.state_dict().items()}},
        buf,
    )
    buf.seek(0)
    g_cpu = generator_from_state(torch.load(buf, weights_only=True))
    a = generate(G_ema, 64, seed=5, z_dim=64).float()
    b = generate(g_cpu, 64, seed=5, z_dim=64)
    return {
        "image_size": image_size,
        "channels": channels,
        "batch": batch,
        "steps": steps,
        "samples_per_s": round(batch * steps / dt, 1),
        "ms_per_step": round(1000 * dt / steps, 3),
        "finite_losses": finite,
        "gpu_vs_cpu_sample_max_abs_diff": float((a - b).abs().max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    assert torch.cuda.is_available(), "no CUDA device"
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29511")
    dist.init_process_group("nccl", rank=0, world_size=1)
    report = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "nccl": str(torch.cuda.nccl.version()),
        "ddp_kwargs": ddp_buffer_kwargs(),
        "runs": [],
    }
    for size, ch, batch in ((8, 1, 128), (32, 3, 128), (64, 3, 128), (64, 3, 512)):
        report["runs"].append(throughput(size, ch, batch, steps=200))
        print(json.dumps(report["runs"][-1]), flush=True)
    dist.destroy_process_group()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()

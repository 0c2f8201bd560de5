"""GPU check (run by hand on a CUDA machine): the training step under NCCL DDP, throughput.

Drives pipeline.phases (the exact step the Ray loop runs) in a one-rank NCCL process group,
checks that sampling is device-independent and a GPU checkpoint reloads on the CPU, and prints
samples/s per resolution. Needs only torch; Ray and MLflow are not used here.

    python benchmarks/gpu_check.py [--out results.json]
    python benchmarks/gpu_check.py --smoke [--out DIR/gpu_check.json]   # CPU + gloo, 8x8, 2 steps

The smoke run drives the same DDP step on the CPU in a one-rank gloo group: it proves the script
still fits the pipeline's code, not that NCCL works.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.smoke import out_path  # noqa: E402
from ganmodels.build import build_discriminator, build_generator, generator_from_state  # noqa: E402
from ganmodels.ema import make_ema  # noqa: E402
from ganmodels.image.sampling import generate  # noqa: E402
from pipeline.phases import PHASE_KEYS, Phases, Recipe, ddp_buffer_kwargs  # noqa: E402


def throughput(
    image_size: int, channels: int, batch: int, steps: int, device: str = "cuda", warmup: int = 20
) -> dict[str, Any]:
    """samples/s of the DDP-wrapped step at one resolution."""
    cfg = {
        "kind": "image",
        "architecture": "dcgan",
        "z_dim": 64,
        "channels": channels,
        "image_size": image_size,
        "g_channels": 64,
        "d_channels": 64,
    }
    torch.manual_seed(0)
    G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
    G_ema = make_ema(G)
    kw: dict[str, Any] = ddp_buffer_kwargs()
    if device == "cuda":
        kw["device_ids"] = [0]  # a CPU module takes none
    G, D = DistributedDataParallel(G, **kw), DistributedDataParallel(D, **kw)
    recipe = Recipe(
        objective="bce", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), d_steps=1, r1_gamma=0.0,
        r1_interval=16, gp_weight=0.0, ema_decay=0.999, augment=(), augment_p=0.0,
        ada_target=0.0, ada_interval=4, ada_speed_images=100_000,
    )  # fmt: skip
    phases = Phases(G, D, G_ema, recipe)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    real = torch.rand(batch, channels, image_size, image_size, device=device) * 2 - 1
    stats = torch.zeros(len(PHASE_KEYS), device=device)
    for i in range(warmup):
        stats += phases.step([(real, None)], i, torch.Generator().manual_seed(i))
    sync()
    t0 = time.perf_counter()
    for i in range(steps):
        stats += phases.step([(real, None)], i, torch.Generator().manual_seed(i))
    sync()
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


CONFIGS = ((8, 1, 128), (32, 3, 128), (64, 3, 128), (64, 3, 512))  # size, channels, batch


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Check every configuration in a one-rank process group; print and save the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="JSON report (default: printed only)")
    ap.add_argument("--smoke", action="store_true", help="CPU + gloo, 8x8, 2 steps")
    args = ap.parse_args(argv)
    out = out_path(args.out, args.smoke, "gpu_check.json") if args.out or args.smoke else None
    if args.smoke:
        device, backend, configs, steps, warmup = "cpu", "gloo", ((8, 1, 16),), 2, 1
    else:
        assert torch.cuda.is_available(), "no CUDA device"
        device, backend, configs, steps, warmup = "cuda", "nccl", CONFIGS, 200, 20
    if dist.is_initialized():
        raise RuntimeError("a process group is already initialized in this process")
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        # A one-rank group meets through a file: no port to pick, none to collide on.
        dist.init_process_group(backend, init_method=f"file://{tmp}/store", rank=0, world_size=1)
        try:
            report: dict[str, Any] = {
                "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                "backend": backend,
                "torch": torch.__version__,
                "nccl": str(torch.cuda.nccl.version()) if device == "cuda" else None,
                "ddp_kwargs": ddp_buffer_kwargs(),
                "runs": [],
            }
            for size, ch, batch in configs:
                report["runs"].append(throughput(size, ch, batch, steps, device, warmup))
                print(json.dumps(report["runs"][-1]), flush=True)
        finally:
            dist.destroy_process_group()
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
        print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()

"""GPU throughput of the training step: presets x resolutions x fp32/bf16 x eager/compiled.

Runs `pipeline.phases.Phases.step` (the step a 1-GPU `gan train` runs, where Ray leaves the
models unwrapped) on synthetic 3-channel images, and prints images/s, ms/step and the model
FLOPs utilisation each implies (FLOPs of one step counted by torch's FlopCounterMode, over the
card's dense bf16 peak). Each preset is resolved as `gan train` resolves it (params.yaml with
model.preset set, through pipeline.config). Results go to --out as JSON as they come.

    python benchmarks/gpu.py --out gpu.json [--sizes 32 64] [--batches 128] [--budget-s 420]
    python benchmarks/gpu.py --smoke [--out DIR/gpu.json]   # CPU, 8x8, a few steps per config
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.smoke import out_path  # noqa: E402
from ganmodels.build import build_discriminator, build_generator  # noqa: E402
from ganmodels.ema import make_ema  # noqa: E402
from pipeline.config import Params, load_params  # noqa: E402
from pipeline.phases import Phases, Recipe  # noqa: E402
from tests.helpers import write_params  # noqa: E402

# Dense bf16 tensor-core peaks (FLOP/s) from the vendor's data sheets (SXM parts).
PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}
NUM_CLASSES = 10  # conditional presets get ten classes, as the default digits have


def peak_flops(name: str) -> float | None:
    """The dense bf16 peak of a card by name, or None if unknown."""
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def preset_params(name: str, folder: Path) -> Params:
    """The repo's params with model.preset set to name, resolved and validated as `gan train`
    would see them (a key set in params.yaml wins over the preset, as there)."""
    return load_params(write_params(folder / f"params-{name}.yaml", {"model": {"preset": name}}))


def make_phases(
    preset: Params,
    size: int,
    bf16: bool,
    compile_: bool,
    device: str,
    fmt: torch.memory_format = torch.contiguous_format,
) -> Phases:
    """G, D, G_ema and optimizers for a preset at one resolution, as the 1-GPU loop builds them."""
    m = preset.model
    cfg = {
        "kind": "image",
        "architecture": m.architecture,
        "z_dim": m.z_dim,
        "channels": 3,
        "image_size": size,
        "g_channels": m.g_channels,
        "d_channels": m.d_channels,
        "num_classes": NUM_CLASSES if m.conditional else 0,
        "spectral_norm": m.spectral_norm,
    }
    torch.manual_seed(0)
    G = build_generator(cfg).to(device, memory_format=fmt)
    D = build_discriminator(cfg).to(device, memory_format=fmt)
    G_ema = make_ema(G)
    if compile_:
        G.compile()  # in place, as pipeline/loop.py does
        D.compile()
    return Phases(G, D, G_ema, Recipe.from_train(preset.train, bf16=bf16))


def run_one(
    preset: Params, key: dict[str, Any], steps: int, device: str, warmup: int = 30
) -> dict[str, Any]:
    """Time `steps` steps after `warmup` steps (which include compilation when compiled)."""
    size, batch, compile_ = key["size"], key["batch"], key["compile"]
    fmt = torch.channels_last if key["layout"] == "channels_last" else torch.contiguous_format
    phases = make_phases(preset, size, key["precision"] == "bf16", compile_, device, fmt)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    conditional = preset.model.conditional
    real = (torch.rand(batch, 3, size, size, device=device) * 2 - 1).contiguous(memory_format=fmt)
    y = torch.randint(0, NUM_CLASSES, (batch,), device=device) if conditional else None
    reals = [(real, y)] * preset.train.d_steps
    gens = [torch.Generator().manual_seed(i) for i in range(steps + warmup)]
    t0 = time.perf_counter()
    for i in range(warmup):
        stats = phases.step(reals, i, gens[i])
    sync()
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        stats = phases.step(reals, i, gens[i])
    sync()
    dt = time.perf_counter() - t0
    flops = None
    if not compile_:  # the count is the same either way; the eager run is cheaper to trace
        with FlopCounterMode(display=False) as counter:
            phases.step(reals, 0, gens[0])
        flops = counter.get_total_flops()
    return {
        "ms_per_step": round(1000 * dt / steps, 3),
        "images_per_s": round(batch * steps / dt, 1),
        "warmup_s": round(warmup_s, 2),
        "finite": bool(torch.isfinite(stats).all()),
        "flops_per_step": flops,
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)
        if device == "cuda"
        else None,
    }


def _save(report: dict[str, Any], out: Path | None) -> None:
    """Write the report so far (a run cut off keeps its rows)."""
    if out:
        out.write_text(json.dumps(report, indent=2) + "\n")


# --smoke: every preset, precision and layout on the CPU at 8x8, one warm-up step and one timed
# one; compilation stays off (it takes minutes on a CPU and is torch's code, not ours).
SMOKE = {"device": "cpu", "sizes": [8], "batches": [8], "precisions": ["fp32", "bf16"],
         "compile": ["off"], "layouts": ["contiguous", "channels_last"], "steps": 1,
         "warmup": 1}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time every combination asked for; print and save the report (also returned)."""
    # Long: the sweep in one place (arguments, the combinations, the JSON rows as they come).
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="JSON report (default: printed only)")
    ap.add_argument("--presets", nargs="+", default=["dcgan", "best"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[32, 64])
    ap.add_argument("--batches", nargs="+", type=int, default=[128])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--compile", nargs="+", default=["off", "on"], choices=["off", "on"])
    ap.add_argument("--layouts", nargs="+", default=["contiguous"],
                    choices=["contiguous", "channels_last"])  # fmt: skip
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=30, help="untimed steps before the timed ones")
    ap.add_argument("--device", default="cuda", help="cpu: a smoke run of the script itself")
    ap.add_argument("--budget-s", type=float, default=420, help="start no run after this")
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run; errors fail it")
    args = ap.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    out = out_path(args.out, args.smoke, "gpu.json") if args.out or args.smoke else None
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu.py needs a CUDA device")
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        presets = {name: preset_params(name, Path(tmp)) for name in args.presets}
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    report: dict[str, Any] = {"device": name, "torch": torch.__version__, "runs": []}
    peak = peak_flops(name)
    t_start = time.perf_counter()
    # Eager runs first: compilation dominates the compiled ones' time, so they go last.
    grid = itertools.product(
        args.compile, args.layouts, args.batches, args.presets, args.sizes, args.precisions
    )
    for compile_, layout, batch, preset, size, precision in grid:
        if time.perf_counter() - t_start > args.budget_s:
            report["stopped_at_budget_s"] = args.budget_s
            break
        key = {"preset": preset, "size": size, "batch": batch, "precision": precision,
               "compile": compile_ == "on", "layout": layout}  # fmt: skip
        if compile_ == "on":  # eager runs skip importing dynamo (seconds)
            torch._dynamo.reset()  # else dynamo stops compiling after its recompile limit
        try:
            row = key | run_one(presets[preset], key, args.steps, args.device, args.warmup)
        except Exception as exc:  # a failed config is a result, not a crash ...
            if args.smoke:  # ... except in a smoke run, whose point is to catch breakage
                raise
            row = key | {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        report["runs"].append(row)
        print(json.dumps(row), flush=True)
        _save(report, out)  # as it comes: a run cut off keeps its rows
    # Compiled rows take the FLOP count of their eager twin.
    counts = {(r["preset"], r["size"], r["batch"], r["precision"]): r["flops_per_step"]
              for r in report["runs"] if r.get("flops_per_step")}  # fmt: skip
    for r in report["runs"]:
        f = counts.get((r["preset"], r["size"], r["batch"], r["precision"]))
        if f and peak and "ms_per_step" in r:
            r["flops_per_step"] = f
            r["mfu"] = round(f / (r["ms_per_step"] / 1000) / peak, 5)
    report["peak_bf16_flops"] = peak
    print(json.dumps(report, indent=2))
    _save(report, out)
    if out:
        print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()

"""The data path against what training consumes, and `prepare` on a large image folder.

1. Data path: what each training worker does with the prepared Parquet shards: load the train
   split into tensors once (`ImageBatches`), then assemble its batch for every step. Reported
   in samples/s beside training's own consumption (`--train-rate`, samples/s from
   benchmarks/overhead.py).
2. `prepare` throughput: a folder of `--images` generated PNGs (one sub-folder per class,
   `--size` pixels, RGB) through the prepare stage's core, in images/s and MB/s of source files.

Run (not in CI): .venv/bin/python benchmarks/data.py --images 20000
Smoke run (200 images, 8x8, 5 steps; a temporary --out): .venv/bin/python benchmarks/data.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.smoke import out_path  # noqa: E402


def data_path(prepared: Path, per_rank: int, steps: int) -> dict[str, float]:
    """Load seconds and batch-assembly samples/s of one rank of two (the default layout)."""
    import torch

    from pipeline.config import load_params
    from pipeline.kinds.image.batches import ImageBatches

    train = load_params(ROOT / "params.yaml").train
    train = train.model_copy(update={"batch_size": 2 * per_rank, "seed": 0})
    model = {"z_dim": 64, "num_classes": 10}  # a conditional model: labels are dealt too
    t0 = time.perf_counter()
    # Rank 1 of two: rank 0 would also build the best-checkpoint probe, which is not data.
    batches = ImageBatches(str(prepared), model, train, 1, 2, torch.device("cpu"))
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(steps):
        batches.batch(i)
    seconds = time.perf_counter() - t0
    return {
        "load_s": load_s,
        "rows": len(batches.data),
        "samples_per_s": steps * per_rank / seconds,
    }


def image_folder(out: Path, n: int, size: int, classes: int = 10) -> int:
    """n random-ish RGB PNGs in `classes` sub-folders; returns their total bytes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    total = 0
    for i in range(n):
        folder = out / f"class_{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        # Smooth shapes compress like photos do, not like noise.
        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((size, size), Image.Resampling.BILINEAR)
        path = folder / f"img_{i:06d}.png"
        img.save(path)
        total += path.stat().st_size
    return total


# --smoke: both measurements on a small folder (enough train rows for 2 ranks x batch 64).
SMOKE = {"images": 200, "size": 8, "steps": 5}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Both measurements; print JSON lines and save them (also returned)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=20000)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--train-rate", type=float, default=1935.0, help="samples/s training takes")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--out", default=None, help="JSON results (default: benchmarks/data.json)")
    p.add_argument("--smoke", action="store_true", help="a tiny run; a temporary --out")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
    out = out_path(args.out, args.smoke, "data.json")
    from pipeline.prepare import prepare
    from tests.helpers import data_config

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        tmp = Path(tmp)
        prepare(data_config(), tmp / "digits")  # the default data, batch 128 over 2 ranks
        row = data_path(tmp / "digits", 64, args.steps)
        row["ratio_to_training"] = row["samples_per_s"] / args.train_rate
        results["data_path_digits"] = row
        print(json.dumps(row), flush=True)

        t0 = time.perf_counter()
        size_bytes = image_folder(tmp / "folder", args.images, args.size)
        generate_s = time.perf_counter() - t0
        cfg = data_config(source=str(tmp / "folder"), image_size=args.size, channels=3)
        t0 = time.perf_counter()
        schema = prepare(cfg, tmp / "prepared")
        seconds = time.perf_counter() - t0
        row = {"images": args.images, "size": args.size, "source_mb": size_bytes / 1e6,
               "generate_s": generate_s, "prepare_s": seconds,
               "images_per_s": args.images / seconds, "mb_per_s": size_bytes / 1e6 / seconds,
               "rows": schema["rows"]}  # fmt: skip
        results["prepare_folder"] = row
        print(json.dumps(row), flush=True)
        row = data_path(tmp / "prepared", 64, args.steps)
        results["data_path_folder"] = row
        print(json.dumps(row), flush=True)
    saved = {"args": {**vars(args), "out": str(out)}, **results}
    out.write_text(json.dumps(saved, indent=1) + "\n")
    print(f"wrote {out}")
    return saved


if __name__ == "__main__":
    main()

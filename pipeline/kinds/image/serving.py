"""The image pyfunc's signature (for register) and what `gan sample` writes from its output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec
from PIL import Image

from pipeline.kinds.image.figure import make_grid


def signature(generator: dict[str, Any]) -> tuple[ModelSignature, dict[str, list]]:
    """{n, seed[, label]} -> float32 [n, C, H, W], and an input example."""
    config = generator["model_config"]
    # `label` is optional and declared for every model: MLflow silently drops undeclared
    # columns, and an unconditional model must refuse a label rather than ignore it.
    cols = [ColSpec("long", "n"), ColSpec("long", "seed"), ColSpec("long", "label", required=False)]
    shape = (-1, config["channels"], config["image_size"], config["image_size"])
    outputs = Schema([TensorSpec(np.dtype(np.float32), shape)])
    conditional = int(config.get("num_classes", 0)) > 0
    example = {"n": [2], "seed": [0], **({"label": [0]} if conditional else {})}
    return ModelSignature(inputs=Schema(cols), outputs=outputs), example


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 0..255."""
    return (np.clip(images, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def check_out(out: Path) -> None:
    """An image model writes PNGs into a folder, one grid .png or a .npy file."""
    if out.suffix in (".parquet", ".pq", ".csv"):
        raise ValueError(f"--out {out}: an image model writes PNGs or a .npy file")


def write_samples(images: np.ndarray, out: Path) -> str:
    """Write [N, C, H, W] floats in [0, 1]: .npy as is, .png as one grid, else a PNG per image;
    returns where."""
    if out.suffix == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, images)
        return str(out)
    if out.suffix == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        make_grid(to_uint8(images)).save(out)
        return str(out)
    out.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(to_uint8(images)):
        path = out / f"sample_{i:05d}.png"
        Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)).save(path)
    return f"{len(images)} PNGs in {out}" if len(images) > 1 else str(path)

"""`gan augment` for images: the train split and a model's samples as PNGs in a folder per
class (the layout image loaders read), file names saying which are synthetic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipeline.data import REAL
from pipeline.kinds.image.serving import to_uint8
from pipeline.kinds.image.shards import load_split

MARKER = "file names: real_NNNNN.png and synthetic_NNNNN.png, in a folder per class"


def check_out(out: Path) -> None:
    """The set goes into a folder (a folder per class inside)."""
    if out.suffix:
        raise ValueError(f"--out {out}: an image model writes the augmented set into a folder")


def real_rows(prepared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The train and validation images as the pyfunc gives samples (float32 [N, C, H, W] in
    [0, 1]) and their class indices (-1: none)."""
    images, labels = (
        np.concatenate(p) for p in zip(*(load_split(prepared, s) for s in REAL), strict=True)
    )
    return images.astype(np.float32) / 255.0, labels


def conditional(model: Any) -> bool:
    """Whether the loaded pyfunc's G takes a class (model.conditional: true)."""
    return int(getattr(model.unwrap_python_model().serving, "num_classes", 0)) > 0


def class_request(k: int, schema: dict[str, Any]) -> dict[str, list]:
    """A class-conditional model's request for class k."""
    return {"label": [k]}


def write(
    real: np.ndarray, labels: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]],
    names: list[str], out: Path,
) -> str:  # fmt: skip
    """PNGs under out/<class>/ (out/all/ without classes); returns where."""
    count = 0
    for tag, groups in (("real", [(real, labels)]), ("synthetic", parts)):
        for images, classes in groups:
            for img, k in zip(to_uint8(np.asarray(images)), classes, strict=True):
                folder = out / (names[k] if k >= 0 else "all")
                folder.mkdir(parents=True, exist_ok=True)
                pixels = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
                Image.fromarray(pixels).save(folder / f"{tag}_{count:05d}.png")
                count += 1
    return f"{count} PNGs in {out}"

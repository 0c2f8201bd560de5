"""`gan sample`: images from a registered model through its pyfunc contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from pipeline import paths
from pipeline.config import load_params
from pipeline.grid import make_grid
from pipeline.tracking import active_tracking, tracking_uri


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 0..255."""
    return (np.clip(images, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def write_samples(images: np.ndarray, out: Path) -> list[Path]:
    """Write [N, C, H, W] floats in [0, 1]: .npy as is, .png as one grid, else a PNG per image."""
    if out.suffix == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, images)
        return [out]
    if out.suffix == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        make_grid(to_uint8(images)).save(out)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, img in enumerate(to_uint8(images)):
        path = out / f"sample_{i:05d}.png"
        Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)).save(path)
        written.append(path)
    return written


def write_rows(rows: pd.DataFrame, out: Path) -> Path:
    """Write table rows as Parquet (types kept) or CSV, by the file's suffix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix in (".parquet", ".pq"):
        rows.to_parquet(out, index=False)
    elif out.suffix == ".csv":
        rows.to_csv(out, index=False)
    else:
        raise ValueError(f"--out {out}: a table model writes a .parquet or .csv file")
    return out


def main(
    model_uri: str | None,
    n: int,
    seed: int,
    out: str,
    params_path: str,
    label: int | None = None,
    condition: tuple[str | None, str | None] = (None, None),
) -> None:
    """Load a pyfunc model by URI and write n samples for a seed."""
    import mlflow.pyfunc

    if model_uri is None:
        model_uri = f"models:/{load_params(params_path).register.model_name}@champion"
    with active_tracking(tracking_uri(paths.project_root())):  # the registry the URI names
        model = mlflow.pyfunc.load_model(model_uri)
    row: dict[str, list] = {"n": [n], "seed": [seed]}
    if label is not None:
        row["label"] = [label]
    column, value = condition
    if column is not None or value is not None:
        row |= {"condition_column": [column], "condition_value": [value]}
    samples = model.predict(pd.DataFrame(row))
    if isinstance(samples, pd.DataFrame):
        where = write_rows(samples, Path(out))
        of = f", {column} == {value}" if column is not None else ""
        print(f"sample: {n} rows from {model_uri} (seed {seed}{of}) -> {where}")
        return
    if out.endswith((".parquet", ".pq", ".csv")):
        raise ValueError(f"--out {out}: an image model writes PNGs or a .npy file")
    written = write_samples(samples, Path(out))
    where = written[0] if len(written) == 1 else f"{len(written)} PNGs in {out}"
    of = f", label {label}" if label is not None else ""
    print(f"sample: {n} images from {model_uri} (seed {seed}{of}) -> {where}")

"""Reader of prepared image shards, for training and evaluation (numpy only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import storage
from pipeline.data import SPLITS, PreparedDataError, read_schema


def _read_shard(path: str, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """One shard's flat images [n, pixels] uint8 and labels [n] int64 (-1 for null)."""
    if not storage.is_file(path):
        raise PreparedDataError(f"{path}: shard listed in schema.json is missing; rerun prepare")
    fs, inner = storage.filesystem(path)
    try:
        table = pq.read_table(inner, columns=["image", "label"], filesystem=fs)
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise PreparedDataError(f"{path}: cannot read shard: {exc}") from None
    want = {"image": pa.binary(pixels), "label": pa.int32()}
    got = {name: table.schema.field(name).type for name in want}
    if got != want:
        raise PreparedDataError(
            f"{path}: column types {got} do not match schema.json (expected {want}); rerun prepare"
        )
    image = table.column("image").combine_chunks()
    if image.null_count:
        raise PreparedDataError(f"{path}: {image.null_count} null image(s)")
    # Fixed-size binary: buffers() is [validity, data]; the data buffer starts at element 0 of
    # the parent, so skip the array's slice offset. Zero-copy view over the Arrow buffer.
    n = len(image)
    data = image.buffers()[1]
    if n == 0 or data is None:
        flat = np.empty((0, pixels), np.uint8)
    else:
        flat = np.frombuffer(data, np.uint8, count=n * pixels, offset=image.offset * pixels)
        flat = flat.reshape(n, pixels)
    labels = pc.fill_null(table.column("label"), -1).to_numpy().astype(np.int64)
    return flat, labels


def load_split(prepared_dir: Path | str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, C, H, W] (contiguous) and labels int64 [N] (-1 if unlabeled)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    schema = read_schema(prepared_dir)
    shape = tuple(schema["shape"])
    pixels = int(np.prod(shape))
    shards = schema["shards"][split]
    parts = [_read_shard(storage.join(str(prepared_dir), name), pixels) for name in shards]
    if parts:
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
    else:
        images, labels = np.empty((0, pixels), np.uint8), np.empty(0, np.int64)
    expected = schema["rows"][split]
    if len(images) != expected:
        raise PreparedDataError(
            f"{prepared_dir}: {split} shards hold {len(images)} rows, schema.json says "
            f"{expected}; rerun prepare"
        )
    return np.ascontiguousarray(images.reshape(-1, *shape)), labels


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [-1, 1], the model-side normalisation."""
    return np.asarray(images, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)

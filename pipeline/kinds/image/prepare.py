"""prepare for images: decoded images -> train/validation/holdout Parquet shards and the schema's
content (row counts, class histogram, pixel stats, content hash)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.data import FORMAT_VERSION, three_splits
from pipeline.kinds.image.read import ImageSet, read_source

if TYPE_CHECKING:
    from pipeline.config import DataConfig

_CHUNK = 4096  # rows per step when hashing or histogramming, to bound memory


def _table(data: ImageSet, rows: np.ndarray) -> pa.Table:
    """Arrow table of the given rows: image (fixed-size binary, CHW bytes), label, source_id."""
    flat = np.ascontiguousarray(data.images[rows].reshape(len(rows), -1))
    # One fixed-size binary value per image (not one Parquet value per pixel): fast to read.
    image = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(flat.shape[1]), len(flat), [None, pa.py_buffer(flat)]
    )
    if data.labels is None:
        label = pa.nulls(len(rows), pa.int32())
    else:
        label = pa.array(data.labels[rows].astype(np.int32))
    source_id = pa.array([data.source_ids[i] for i in rows], pa.string())
    return pa.Table.from_arrays([image, label, source_id], schema=arrow_schema(flat.shape[1]))


def arrow_schema(pixels: int) -> pa.Schema:
    """The Parquet schema of every shard (pixels = C*H*W, the image's uint8 bytes in CHW order)."""
    return pa.schema(
        [
            pa.field("image", pa.binary(pixels), nullable=False),
            pa.field("label", pa.int32(), nullable=True),
            pa.field("source_id", pa.string(), nullable=False),
        ]
    )


def _write_shards(
    data: ImageSet, rows: np.ndarray, out_dir: Path, split: str, per_shard: int
) -> list[str]:
    """Write one split as part-NNNNN.parquet files; return their paths relative to out_dir."""
    (out_dir / split).mkdir()
    names = []
    for k, start in enumerate(range(0, len(rows), per_shard)):
        name = f"{split}/part-{k:05d}.parquet"
        table = _table(data, rows[start : start + per_shard])
        pq.write_table(table, out_dir / name, row_group_size=per_shard, compression="zstd")
        names.append(name)
    return names


def _data_hash(data: ImageSet, splits: dict[str, np.ndarray]) -> str:
    """sha256 of the content: shape, class names, then each split's images and labels."""
    h = hashlib.sha256()
    header = {"shape": list(data.images.shape[1:]), "class_names": data.class_names}
    h.update(json.dumps(header, sort_keys=True).encode())
    for split, rows in splits.items():
        h.update(f"\n{split}:{len(rows)}\n".encode())
        for start in range(0, len(rows), _CHUNK):  # chunked: no full copy of the split
            h.update(data.images[rows[start : start + _CHUNK]].tobytes())
        labels = np.full(len(rows), -1, np.int64) if data.labels is None else data.labels[rows]
        h.update(labels.astype("<i8").tobytes())
    return h.hexdigest()


def _pixel_stats(images: np.ndarray, rows: np.ndarray) -> dict[str, list[float]]:
    """Per-channel mean/std/min/max on the 0..1 scale, exact via 256-bin histograms."""
    levels = np.arange(256, dtype=np.float64) / 255.0
    stats: dict[str, list[float]] = {"mean": [], "std": [], "min": [], "max": []}
    for c in range(images.shape[1]):
        # Histograms of row chunks: exact, and no full-size float (or intp) copy of the images.
        hist = np.zeros(256, np.float64)
        for start in range(0, len(rows), _CHUNK):
            hist += np.bincount(images[rows[start : start + _CHUNK], c].ravel(), minlength=256)
        mean = float((hist * levels).sum() / hist.sum())
        var = float((hist * (levels - mean) ** 2).sum() / hist.sum())
        present = np.flatnonzero(hist)
        stats["mean"].append(round(mean, 6))
        stats["std"].append(round(var**0.5, 6))
        stats["min"].append(round(float(levels[present[0]]), 6))
        stats["max"].append(round(float(levels[present[-1]]), 6))
    return stats


def _histogram(data: ImageSet, rows: np.ndarray) -> dict[str, int]:
    """Rows per class name (every class listed, in class order); empty when unlabeled."""
    if data.labels is None:
        return {}
    counts = np.bincount(data.labels[rows], minlength=len(data.class_names))
    return {name: int(n) for name, n in zip(data.class_names, counts, strict=True)}


def prepare_images(cfg: DataConfig, out_dir: Path) -> dict[str, Any]:
    """Read, split and write the image shards; return the schema (schema.json is the caller's)."""
    data = read_source(cfg)
    splits = three_splits(data.labels, len(data.images), cfg.holdout_fraction,
                          cfg.validation_fraction, cfg.split_seed)  # fmt: skip
    train = splits["train"]
    shards = {
        split: _write_shards(data, rows, out_dir, split, cfg.rows_per_shard)
        for split, rows in splits.items()
    }
    c, h, w = data.images.shape[1:]
    return {
        "format_version": FORMAT_VERSION,
        "source": cfg.source,
        "kind": "image",
        "shape": [c, h, w],
        "image_size": cfg.image_size,
        "channels": cfg.channels,
        "labeled": data.labeled,
        "num_classes": len(data.class_names),
        "class_names": data.class_names,
        "rows": {**{k: len(v) for k, v in splits.items()}, "total": len(data.images)},
        "class_histogram": {split: _histogram(data, rows) for split, rows in splits.items()},
        "pixel_stats": _pixel_stats(data.images, train),
        "data_hash": _data_hash(data, splits),
        "skipped_files": data.skipped,
        "shards": shards,
    }


def summary(schema: dict[str, Any]) -> str:
    """A short human summary of a prepared data set, listing every skipped file."""
    rows = schema["rows"]
    names = schema["class_names"]
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    classes = f"{len(names)} classes ({shown})" if schema["labeled"] else "unlabeled"
    lines = [
        f"prepared {schema['source']}: {rows['total']} images "
        f"(train {rows['train']}, validation {rows['validation']}, holdout {rows['holdout']}), "
        f"shape {schema['shape']}, {classes}",
        f"data_hash {schema['data_hash'][:12]}",
    ]
    skipped = schema["skipped_files"]
    if skipped:
        lines.append(f"skipped {len(skipped)} bad file(s):")
        lines += [f"  {s['path']}: {s['reason']}" for s in skipped]
    return "\n".join(lines)

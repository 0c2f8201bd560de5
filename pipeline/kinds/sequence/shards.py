"""Prepared sequence shards: one Parquet row per sequence (its [T, C] float32 values in the
data's units, NaN after its end, as fixed-size bytes; its length, label and source id)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import storage
from pipeline.data import SPLITS, PreparedDataError, read_schema


def arrow_schema(cells: int) -> pa.Schema:
    """Every shard's schema (cells = T * C float32 values)."""
    return pa.schema(
        [
            pa.field("values", pa.binary(4 * cells), nullable=False),
            pa.field("length", pa.int32(), nullable=False),
            pa.field("label", pa.int32(), nullable=True),
            pa.field("source_id", pa.string(), nullable=False),
        ]
    )


def write_split(
    values: np.ndarray, labels: np.ndarray | None, ids: list[str], out_dir: Path, split: str,
    per_shard: int,
) -> list[str]:  # fmt: skip
    """Write one split's sequences as part-NNNNN.parquet; return their paths under out_dir."""
    (out_dir / split).mkdir()
    # The cell count from the shape: an empty split (data.validation_fraction: 0) has no rows.
    cells = int(np.prod(values.shape[1:]))
    flat = np.ascontiguousarray(values.astype("<f4").reshape(len(values), cells))
    lengths = (~np.isnan(values).any(axis=2)).sum(axis=1).astype(np.int32)
    names = []
    for k, start in enumerate(range(0, len(values), per_shard)):
        part = slice(start, start + per_shard)
        rows = flat[part]
        cells = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4 * flat.shape[1]), len(rows), [None, pa.py_buffer(rows.tobytes())]
        )
        label = (
            pa.nulls(len(rows), pa.int32())
            if labels is None
            else pa.array(labels[part], pa.int32())
        )
        table = pa.Table.from_arrays(
            [cells, pa.array(lengths[part]), label, pa.array(ids[part], pa.string())],
            schema=arrow_schema(flat.shape[1]),
        )
        name = f"{split}/part-{k:05d}.parquet"
        pq.write_table(table, out_dir / name, row_group_size=per_shard, compression="zstd")
        names.append(name)
    return names


def load_split(prepared_dir: Path | str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Sequences float32 [N, T, C] in data units (NaN after each end) and labels int64 [N]
    (-1 where unlabeled)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    schema = read_schema(prepared_dir)
    t, c = int(schema["seq_len"]), len(schema["channels"])
    values, labels = [], []
    for name in schema["shards"][split]:
        path = storage.join(str(prepared_dir), name)
        if not storage.is_file(path):
            raise PreparedDataError(
                f"{path}: shard listed in schema.json is missing; rerun prepare"
            )
        fs, inner = storage.filesystem(path)
        try:
            table = pq.read_table(inner, columns=["values", "label"], filesystem=fs)
        except (OSError, pa.ArrowException, KeyError) as exc:
            raise PreparedDataError(f"{path}: cannot read shard: {exc}") from None
        if table.schema.field("values").type != pa.binary(4 * t * c):
            raise PreparedDataError(f"{path}: values are not [{t}, {c}] float32; rerun prepare")
        cells = table.column("values").combine_chunks()
        width, buffer = 4 * t * c, cells.buffers()[1]  # [validity, data]: a zero-copy view
        raw = b"" if not len(cells) or buffer is None else buffer
        offset = cells.offset * width if len(cells) else 0
        values.append(np.frombuffer(raw, "<f4", count=len(cells) * t * c, offset=offset))
        labels.append(pc.fill_null(table.column("label"), -1).to_numpy().astype(np.int64))
    out = np.concatenate(values).reshape(-1, t, c) if values else np.empty((0, t, c), np.float32)
    if len(out) != schema["rows"][split]:
        raise PreparedDataError(
            f"{prepared_dir}: {split} shards hold {len(out)} sequences, schema.json says "
            f"{schema['rows'][split]}; rerun prepare"
        )
    return out.astype(np.float32), np.concatenate(labels) if labels else np.empty(0, np.int64)

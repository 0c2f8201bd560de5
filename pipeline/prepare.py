"""prepare stage: data.source -> deterministic train/validation/holdout Parquet shards, schema.json.

The kind (data.kind) reads, splits and writes its shards; this stage clears the output folder
first and writes schema.json last. Nothing time- or machine-dependent is written, so the same
source and params give byte-identical outputs and the same data_hash.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pipeline import kinds, paths
from pipeline.config import DataConfig, load_params
from pipeline.data import SPLITS
from pipeline.errors import DataError

# Only these may be deleted when clearing out_dir (any kind's, as data.kind may have changed):
# anything else means a wrong path.
_OWNED = {"schema.json", *SPLITS, *(f for k in kinds.KINDS.values() for f in k.prepared_files)}


def _clear(out_dir: Path) -> None:
    """Empty out_dir (a DVC out), refusing to delete files prepare did not write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    # ".schema.json.<pid>.tmp" is what an interrupted atomic write leaves behind.
    leftovers = tuple(f".{name}." for name in _OWNED)
    foreign = sorted(
        p.name
        for p in out_dir.iterdir()
        if p.name not in _OWNED and not p.name.startswith(leftovers)
    )
    if foreign:
        raise DataError(
            f"{out_dir}: refusing to clear a folder holding files prepare did not write "
            f"({', '.join(foreign)}); remove them or pick another output folder"
        )
    for entry in out_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def prepare(cfg: DataConfig, out_dir: Path, root: Path | None = None) -> dict[str, Any]:
    """Read the source, split it, write shards and schema.json (last); return the schema.

    root: what a relative source path is relative to (the project root by default).
    """
    out_dir = Path(out_dir)
    # Cleared before reading, so a failed run leaves no schema.json that readers could trust.
    _clear(out_dir)
    schema = kinds.get(cfg.kind).prepare(cfg, out_dir, root or paths.project_root())
    # schema.json is written last and renamed into place: it exists only if all shards do.
    paths.write_json(out_dir / "schema.json", schema)
    return schema


def summary(schema: dict[str, Any]) -> str:
    """A short human summary of a prepared data set."""
    return kinds.for_schema(schema).summary(schema)


def main(params_path: str | Path = paths.PARAMS) -> None:
    """Run the prepare stage from params.yaml into data/prepared and print a summary."""
    params = load_params(params_path)
    schema = prepare(params.data, paths.PREPARED)
    print(summary(schema))

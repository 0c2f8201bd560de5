"""Reader of prepared table shards and of the transformer fitted by prepare."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from ganmodels.tabular.transformer import TableTransformer
from pipeline import storage
from pipeline.data import PreparedDataError, read_schema

TRANSFORMER = "transformer.json"


def load_table_split(prepared_dir: Path | str, split: str) -> pd.DataFrame:
    """One split's typed rows, in order (prepared_dir may be a URI)."""
    schema = read_schema(prepared_dir)
    if schema.get("kind") != "tabular":
        raise PreparedDataError(f"{prepared_dir}: holds {schema.get('kind')} data, not a table")
    parts = []
    for name in schema["shards"][split]:
        location = storage.join(str(prepared_dir), name)
        if not storage.is_file(location):
            raise PreparedDataError(
                f"{location}: shard listed in schema.json is missing; rerun prepare"
            )
        fs, path = storage.filesystem(location)
        parts.append(pq.read_table(path, filesystem=fs).to_pandas())
    return pd.concat(parts, ignore_index=True)


def load_transformer(prepared_dir: Path | str) -> TableTransformer:
    """The transformer fitted by prepare (plain JSON: nothing executes on load)."""
    location = storage.join(str(prepared_dir), TRANSFORMER)
    if not storage.is_file(location):
        raise PreparedDataError(f"{location}: not found; rerun the prepare stage")
    return TableTransformer.from_dict(json.loads(storage.read_bytes(location)))

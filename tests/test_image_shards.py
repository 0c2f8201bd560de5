"""The image shard reader: round trips, refuses missing or mismatched shards, reads chunked
and sliced columns, and reads from a storage URI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from ganmodels.image.sampling import to_uint8
from pipeline.data import PreparedDataError, read_schema
from pipeline.kinds.image.shards import load_split, to_unit_range
from pipeline.prepare import prepare
from tests.helpers import image_config

_cfg = image_config


def test_reader_rejects_missing_or_mismatched_shards(tmp_path: Path) -> None:
    prepare(_cfg("digits", rows_per_shard=1000), tmp_path)
    shard = tmp_path / "train" / "part-00001.parquet"
    shard.unlink()
    with pytest.raises(PreparedDataError, match=re.escape(str(shard)) + ".*missing.*rerun prepare"):
        load_split(tmp_path, "train")
    wrong = pa.table({"image": pa.array([[1, 2]], pa.list_(pa.uint8())), "label": [1]})
    pq.write_table(wrong, shard)
    with pytest.raises(
        PreparedDataError, match=re.escape(str(shard)) + ".*do not match.*rerun prepare"
    ):
        load_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be one of"):
        load_split(tmp_path, "test")


def test_reader_handles_chunked_and_sliced_image_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(_cfg("digits"), tmp_path)
    want, _ = load_split(tmp_path, "holdout")
    read_table = pq.read_table

    def chunked_sliced(*args: object, **kwargs: object) -> pa.Table:
        table = read_table(*args, **kwargs)  # drop row 0; 3 chunks with non-zero offsets
        return pa.concat_tables([table.slice(1, 100), table.slice(101, 50), table.slice(151)])

    monkeypatch.setattr("pipeline.kinds.image.shards.pq.read_table", chunked_sliced)
    schema = read_schema(tmp_path)
    schema["rows"]["holdout"] -= 1
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    images, _ = load_split(tmp_path, "holdout")
    np.testing.assert_array_equal(images, want[1:])


def test_unit_range_round_trip() -> None:
    levels = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    x = to_unit_range(levels)
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0
    # The model side's inverse (ganmodels.image.sampling.to_uint8) gives back every level exactly.
    np.testing.assert_array_equal(to_uint8(torch.from_numpy(x)).numpy(), levels)


def test_prepared_data_reads_from_a_storage_uri(tmp_path: Path) -> None:
    # The same reader serves a dataset staged on shared storage (file:// here; s3:// alike).
    from pipeline import storage

    prepare(_cfg("digits"), tmp_path / "out")
    uri = (tmp_path / "shared").as_uri() + "/datasets/x"
    storage.upload(tmp_path / "out", uri, last="schema.json")
    assert read_schema(uri) == read_schema(tmp_path / "out")
    for split in ("train", "validation", "holdout"):
        a, b = load_split(uri, split), load_split(tmp_path / "out", split)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(PreparedDataError, match="schema.json: not found"):
        read_schema((tmp_path / "shared").as_uri() + "/datasets/missing")

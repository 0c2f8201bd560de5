"""prepare stage and data reader: digits and image folders, end to end, on real files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from pipeline import prepare as prepare_mod
from pipeline.data import SPLITS, PreparedDataError, read_schema
from pipeline.kinds.image.read import DataError, read_digits
from pipeline.kinds.image.shards import load_split
from pipeline.prepare import prepare
from tests.helpers import image_config

REPO = Path(__file__).resolve().parents[1]

_cfg = image_config


def _table(out: Path, split: str) -> pa.Table:
    schema = read_schema(out)
    return pa.concat_tables([pq.read_table(out / name) for name in schema["shards"][split]])


def _noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    depth = {"RGB": 3, "RGBA": 4}.get(mode)
    shape = (size[1], size[0]) if depth is None else (size[1], size[0], depth)
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _folder(root: Path, labeled: bool, per_class: int = 4) -> Path:
    """A small image folder with mixed modes and sizes (one subfolder per class if labeled)."""
    makers = [
        lambda i: (_noise((40, 40), "RGBA", i), "png"),
        lambda i: (_noise((20, 20), "RGB", i).convert("P"), "png"),
        lambda i: (Image.new("L", (64, 64), 10 * i), "png"),
        lambda i: (_noise((30, 17), "RGB", i), "jpg"),
    ]
    for cls in ["cat", "dog"] if labeled else [""]:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            im, ext = makers[i % len(makers)](i)
            im.save(root / cls / f"img{i}.{ext}")
    return root


def test_digits_end_to_end_is_deterministic(tmp_path: Path) -> None:
    cfg = _cfg("digits")
    a, b = tmp_path / "a", tmp_path / "b"
    schema = prepare(cfg, a)
    assert prepare(cfg, b) == schema

    assert schema["rows"] == {"train": 1294, "validation": 144, "holdout": 359, "total": 1797}
    assert schema["shape"] == [1, 8, 8] and schema["labeled"] and schema["num_classes"] == 10
    assert schema["class_names"] == [str(i) for i in range(10)]
    assert schema["skipped_files"] == [] and len(schema["data_hash"]) == 64
    hist = schema["class_histogram"]
    digits = read_digits(8, 1)
    totals = np.bincount(digits.labels, minlength=10)
    for k in range(10):  # stratified: each class is held out at ~20%, then ~10% of the rest
        rest = hist["train"][str(k)] + hist["validation"][str(k)]
        assert rest + hist["holdout"][str(k)] == totals[k]
        assert abs(hist["holdout"][str(k)] - 0.2 * totals[k]) <= 1
        assert abs(hist["validation"][str(k)] - 0.1 * rest) <= 1
    assert sum(hist["holdout"].values()) == 359

    # Byte-identical outputs, not just equal hashes.
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    for split in ("train", "validation", "holdout"):
        assert _table(a, split).equals(_table(b, split))
        # One fixed-size binary value per image (C*H*W bytes), not a list of per-pixel values.
        assert _table(a, split).schema.field("image").type == pa.binary(64)

    # load_split round-trips to the source pixels and labels via source_id.
    ids = []
    for split in ("train", "validation", "holdout"):
        images, labels = load_split(a, split)
        assert images.dtype == np.uint8 and images.flags.c_contiguous
        assert labels.dtype == np.int64 and images.shape == (schema["rows"][split], 1, 8, 8)
        idx = [int(s.split(":")[1]) for s in _table(a, split).column("source_id").to_pylist()]
        np.testing.assert_array_equal(images, digits.images[idx])
        np.testing.assert_array_equal(labels, digits.labels[idx])
        ids += idx
    assert sorted(ids) == list(range(1797))

    stats = schema["pixel_stats"]
    train, _ = load_split(a, "train")
    assert stats["mean"][0] == pytest.approx(train.mean() / 255, abs=1e-6)
    assert stats["std"][0] == pytest.approx(train.std() / 255, abs=1e-6)
    assert (stats["min"], stats["max"]) == ([0.0], [1.0])

    other = prepare(_cfg("digits", split_seed=1), tmp_path / "c")
    assert other["data_hash"] != schema["data_hash"]


def test_the_validation_share_leaves_the_holdout_as_it_is(tmp_path: Path) -> None:
    """data.validation_fraction takes its rows from train alone: the holdout is the same rows
    at any share; at 0 the validation split is empty and train has every other row."""
    ids = {}
    for share in (0.0, 0.1, 0.3):
        out = tmp_path / str(share)
        schema = prepare(_cfg("digits", validation_fraction=share), out)
        ids[share] = {s: set(_table(out, s).column("source_id").to_pylist())
                      if schema["shards"][s] else set() for s in SPLITS}  # fmt: skip
        assert schema["rows"]["validation"] == round(share * 1438)
    assert ids[0.0]["holdout"] == ids[0.1]["holdout"] == ids[0.3]["holdout"]
    assert ids[0.0]["validation"] == set() and len(ids[0.0]["train"]) == 1438
    assert ids[0.1]["train"] | ids[0.1]["validation"] == ids[0.0]["train"]
    assert not ids[0.3]["train"] & ids[0.3]["validation"]


def test_digits_resized_rgb_and_sharded(tmp_path: Path) -> None:
    schema = prepare(_cfg("digits", image_size=16, channels=3, rows_per_shard=500), tmp_path)
    assert schema["shape"] == [3, 16, 16]
    assert schema["shards"]["train"] == [f"train/part-0000{i}.parquet" for i in range(3)]
    assert pq.read_metadata(tmp_path / "train/part-00002.parquet").num_rows == 1294 - 1000
    images, labels = load_split(tmp_path, "train")
    assert images.shape == (1294, 3, 16, 16) and set(labels) == set(range(10))
    assert (images[:, 0] == images[:, 1]).all() and (images[:, 1] == images[:, 2]).all()
    assert images.max() == 255 and images.min() == 0


def test_labeled_folder_with_mixed_modes(tmp_path: Path) -> None:
    root = _folder(tmp_path / "src", labeled=True)
    Image.new("RGBA", (12, 12), (255, 0, 0, 0)).save(root / "dog" / "clear.png")
    schema = prepare(_cfg(root, image_size=16, channels=3), tmp_path / "out")
    assert schema["labeled"] and schema["class_names"] == ["cat", "dog"]
    assert schema["rows"]["total"] == 9 and schema["shape"] == [3, 16, 16]
    assert schema["class_histogram"]["holdout"] == {"cat": 1, "dog": 1}
    assert schema["rows"]["validation"] == 1  # a tenth of the 7 others, rounded
    table = pa.concat_tables([_table(tmp_path / "out", s) for s in SPLITS])
    ids = table.column("source_id").to_pylist()
    assert sorted(ids) == sorted(str(p.relative_to(root)) for p in root.rglob("*.*"))
    labels = dict(zip(ids, table.column("label").to_pylist(), strict=True))
    assert labels["cat/img3.jpg"] == 0 and labels["dog/img0.png"] == 1
    pixels = [load_split(tmp_path / "out", s)[0] for s in SPLITS]
    images = dict(zip(ids, np.concatenate(pixels), strict=True))
    assert (images["dog/clear.png"] == 0).all()  # fully transparent red composites onto black
    assert (images["cat/img2.png"] == 20).all()  # flat gray stays flat through the resize


def test_unlabeled_folder_grayscale(tmp_path: Path) -> None:
    root = _folder(tmp_path / "src", labeled=False, per_class=5)
    schema = prepare(_cfg(root, image_size=8, channels=1, holdout_fraction=0.4), tmp_path / "out")
    assert not schema["labeled"] and schema["num_classes"] == 0 and schema["class_names"] == []
    # A tenth of 3 rows rounds to none: no validation row.
    assert schema["rows"] == {"train": 3, "validation": 0, "holdout": 2, "total": 5}
    assert schema["class_histogram"] == {"train": {}, "validation": {}, "holdout": {}}
    images, labels = load_split(tmp_path / "out", "holdout")
    assert images.shape == (2, 1, 8, 8) and (labels == -1).all()
    assert _table(tmp_path / "out", "train").column("label").null_count == 3


def _bad_files(root: Path) -> dict[str, str]:
    """Write one file per bad-file case; return {relative path: expected reason fragment}."""
    rng = np.random.default_rng(0)
    (root / "corrupt.png").write_bytes(rng.bytes(500))
    whole = _png_bytes(_noise((64, 64)))
    (root / "cut.png").write_bytes(whole[: len(whole) // 2])
    (root / "notes.txt").write_text("hello")
    return {
        "corrupt.png": "cannot identify image file",
        "cut.png": "truncated",
        "notes.txt": "not an image (.txt)",
    }


@pytest.mark.parametrize("case", ["corrupt.png", "cut.png", "notes.txt"])
def test_each_bad_file_fails_with_its_reason(tmp_path: Path, case: str) -> None:
    root = _folder(tmp_path / "src", labeled=False)
    (tmp_path / "all").mkdir()
    reasons = _bad_files(tmp_path / "all")
    (root / case).write_bytes((tmp_path / "all" / case).read_bytes())
    with pytest.raises(DataError) as err:
        prepare(_cfg(root), tmp_path / "out")
    msg = str(err.value)
    assert re.search(rf"{re.escape(case)}: .*{re.escape(reasons[case])}", msg), msg
    assert "data.on_bad_file: skip" in msg and "1 bad file" in msg


def test_fail_lists_every_bad_file_in_one_error(tmp_path: Path) -> None:
    root = _folder(tmp_path / "src", labeled=False)
    reasons = _bad_files(root)
    out = tmp_path / "out"
    prepare(_cfg("digits"), out)  # a previous good run must not survive a failed one
    with pytest.raises(DataError) as err:
        prepare(_cfg(root), out)
    msg = str(err.value)
    assert "3 bad file(s)" in msg
    for path, reason in reasons.items():
        assert f"{path}: " in msg and reason in msg
    assert not (out / "schema.json").exists()
    with pytest.raises(PreparedDataError, match="run the prepare stage"):
        load_split(out, "train")


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / ".DS_Store").write_text("hidden files are ignored")
    for mode in ("fail", "skip"):
        with pytest.raises(DataError, match=rf"{re.escape(str(empty))}: no images found"):
            prepare(_cfg(empty, on_bad_file=mode), tmp_path / "out")
    missing = tmp_path / "nope"
    with pytest.raises(DataError) as err:
        prepare(_cfg(missing), tmp_path / "out")
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)
    assert "should be 'digits' or a folder" in str(err.value)


def test_mixed_layout_names_the_misplaced_files(tmp_path: Path) -> None:
    root = _folder(tmp_path / "src", labeled=True)
    _noise((8, 8)).save(root / "stray.png")
    (root / "cat" / "deep").mkdir()
    _noise((8, 8)).save(root / "cat" / "deep" / "nested.png")
    with pytest.raises(DataError, match="one subfolder per class") as err:
        prepare(_cfg(root, on_bad_file="skip"), tmp_path / "out")
    assert "  stray.png" in str(err.value) and "  cat/deep/nested.png" in str(err.value)
    assert "cat/img0.png" not in str(err.value)


def test_skip_lists_skipped_files_in_schema_and_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _folder(tmp_path / "src", labeled=True)
    reasons = {f"cat/{k}": v for k, v in _bad_files(root / "cat").items()}
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"] = _cfg(root, on_bad_file="skip").model_dump()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)  # main writes to data/prepared relative to the project root

    prepare_mod.main("params.yaml")
    out = capsys.readouterr().out
    schema = read_schema(tmp_path / "data" / "prepared")
    assert [s["path"] for s in schema["skipped_files"]] == sorted(reasons)
    assert schema["rows"]["total"] == 8
    assert "skipped 3 bad file(s)" in out and schema["data_hash"][:12] in out
    for skipped in schema["skipped_files"]:
        assert reasons[skipped["path"]] in skipped["reason"]
        assert f"  {skipped['path']}: {skipped['reason']}" in out


def test_refuses_to_clear_foreign_output_folder(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DataError, match="precious.txt"):
        prepare(_cfg("digits"), tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_folders_without_readable_images_list_their_files(tmp_path: Path) -> None:
    only_text = tmp_path / "texts"
    only_text.mkdir()
    (only_text / "notes.txt").write_text("no pictures here")
    with pytest.raises(DataError, match=r"no images found, only other files: notes.txt"):
        prepare(_cfg(only_text), tmp_path / "out")
    all_bad = tmp_path / "broken"
    all_bad.mkdir()
    (all_bad / "a.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"none of the 1 image file\(s\) could be read:\n  a.png: "):
        prepare(_cfg(all_bad, on_bad_file="skip"), tmp_path / "out")

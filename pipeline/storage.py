"""Shared storage for cluster runs: a local/NFS folder or any URI pyarrow's filesystems open.

`train.storage_path` holds staged datasets, Ray checkpoints and job outputs. Locations are plain
strings: an absolute local path, or a URI such as s3://bucket/prefix or file:///mnt/shared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.fs as pafs


def is_uri(location: str) -> bool:
    """Whether a location names a filesystem scheme (s3://, gs://, file://, ...)."""
    return "://" in location


def resolve(storage_path: str, base: Path) -> str:
    """A URI as is; a path made absolute against base (the project root)."""
    return storage_path if is_uri(storage_path) else str((base / storage_path).resolve())


def join(location: str, *parts: str) -> str:
    """location/part/... for paths and URIs alike."""
    return "/".join([location.rstrip("/"), *(p.strip("/") for p in parts)])


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path within it) for a location."""
    if is_uri(location):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), str(Path(location).resolve())


def is_file(location: str) -> bool:
    """Whether a file exists at location."""
    fs, path = filesystem(location)
    return fs.get_file_info(path).type == pafs.FileType.File


def read_bytes(location: str) -> bytes:
    """A whole file's bytes."""
    fs, path = filesystem(location)
    with fs.open_input_stream(path) as f:
        return f.read()


def upload(
    local_dir: Path,
    dest: str,
    last: str | None = None,
    before_each: Callable[[str, Path, str], None] | None = None,
) -> None:
    """Copy a local folder's files to dest; `last` (a relative name) is written after the rest,
    so its presence means the copy is complete. before_each(name, source, target) runs before
    each file (a fault-injection seam for tests)."""
    fs, root = filesystem(dest)
    files = sorted(p for p in local_dir.rglob("*") if p.is_file())
    if last is not None:
        files.sort(key=lambda p: p.relative_to(local_dir).as_posix() == last)
    local = pafs.LocalFileSystem()
    for f in files:
        target = join(root, f.relative_to(local_dir).as_posix())
        fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        if before_each is not None:
            before_each(f.relative_to(local_dir).as_posix(), f, target)
        pafs.copy_files(str(f), target, source_filesystem=local, destination_filesystem=fs)


def download(src: str, local: Path) -> None:
    """Copy one file from a location to a local path."""
    fs, path = filesystem(src)
    local.parent.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(
        path, str(local), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem()
    )

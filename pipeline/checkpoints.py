"""Training checkpoints: a state file plus a manifest that proves it whole, and RNG capture.

One checkpoint folder (Ray copies it to `train.storage_path` after `report()`) holds:
  checkpoint.pt   the state dict (torch.save; always loaded with weights_only=True)
  manifest.json   {format, step, run_key, bytes, sha256}: written last, so a folder whose
                  copy was cut off has none, and a file torn or altered later fails its digest.
A folder whose manifest is missing or torn was never completed (a kill during its write or copy):
it does not exist yet, and resuming sets it aside. One whose whole manifest disagrees with its
state (altered, bit rot) is refused by name. No ray.train here: the loop, the driver and the tests
share it.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import torch

from ganmodels.safeload import UnsafeOrCorruptFile, load_state
from pipeline import paths, storage
from pipeline.errors import PipelineError

CHECKPOINT_FILE = "checkpoint.pt"
MANIFEST = "manifest.json"
FORMAT = 1


class CheckpointError(PipelineError):
    """A checkpoint that is incomplete, torn, altered, or not a plain state file."""


class IncompleteCheckpoint(CheckpointError):
    """A checkpoint whose write or copy was cut off before its manifest was whole."""


# Fault injection for tests: called before each file of a checkpoint copy is written
# (name, local source, destination path) and once after the copy ("done", None, folder), so a
# test can leave the copy cut off at any write point. None in production.
CopyHook = Callable[[str, Path | None, str], None]
copy_hook: CopyHook | None = None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checkpoint(directory: Path, state: dict[str, Any]) -> None:
    """Write state and its manifest into directory, each via temp file and rename."""
    path = directory / CHECKPOINT_FILE
    paths.atomic_write(path, lambda tmp: torch.save(state, tmp))
    manifest = {
        "format": FORMAT,
        "step": int(state["step"]),
        "run_key": state.get("run_key"),
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
    }
    paths.atomic_write(directory / MANIFEST, lambda tmp: tmp.write_text(json.dumps(manifest)))


def load_checkpoint_dir(directory: str | Path) -> dict[str, Any]:
    """Verify a checkpoint folder against its manifest, then load it (weights_only)."""
    d = Path(directory)
    path = d / CHECKPOINT_FILE
    try:
        text = (d / MANIFEST).read_text()
    except FileNotFoundError:
        raise IncompleteCheckpoint(
            f"checkpoint {d} has no {MANIFEST}: it is incomplete (its write or copy was cut off)"
        ) from None
    try:
        manifest = json.loads(text)
    except ValueError as e:
        # json.dumps writes one object: no cut-off prefix of it parses, so this is a torn write.
        raise IncompleteCheckpoint(
            f"checkpoint {d}: its {MANIFEST} is torn ({e}): it is incomplete (its write or copy "
            "was cut off)"
        ) from None
    try:
        expected = (int(manifest["bytes"]), str(manifest["sha256"]))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {d}: {MANIFEST} is whole but malformed ({e})") from None
    if not path.is_file():
        raise CheckpointError(f"checkpoint {d} lacks {CHECKPOINT_FILE}")
    found = (path.stat().st_size, _sha256(path))
    if found != expected:
        raise CheckpointError(
            f"checkpoint file {path} is torn or altered: {found[0]} bytes, sha256 "
            f"{found[1][:12]}..., but its manifest says {expected[0]} bytes, {expected[1][:12]}..."
        )
    try:
        state = load_state(path, "checkpoint file")
    except UnsafeOrCorruptFile as e:
        raise CheckpointError(str(e)) from e
    if state.get("step") != manifest.get("step"):
        raise CheckpointError(f"checkpoint {d}: state step differs from its manifest")
    return state


@contextmanager
def local_copy(location: str, fs: pafs.FileSystem) -> Iterator[Path]:
    """A checkpoint folder on any pyarrow filesystem as a local directory."""
    if isinstance(fs, pafs.LocalFileSystem):
        yield Path(location)
        return
    with tempfile.TemporaryDirectory() as tmp:
        pafs.copy_files(location, tmp, source_filesystem=fs)
        yield Path(tmp)


def _folders_newest_first(fs: pafs.FileSystem, parent: str, prefix: str) -> list[str]:
    """Child folders of parent named prefix*, newest first (Ray's and our names sort by time)."""
    infos = fs.get_file_info(pafs.FileSelector(parent, allow_not_found=True))
    dirs = [i.path for i in infos if i.type == pafs.FileType.Directory]
    return sorted((d for d in dirs if d.rsplit("/", 1)[-1].startswith(prefix)), reverse=True)


@dataclass(frozen=True)
class ResumePoint:
    """What resuming found: the newest whole state (None: start from step 0), the checkpoints
    refused by name (altered: kept for a look), and those never completed (to set aside)."""

    state: dict[str, Any] | None
    refused: list[str]
    incomplete: list[str]  # folder locations
    notes: list[str]  # one line per skipped folder, refused or incomplete


def _load_first_whole(candidates: list[str], fs: pafs.FileSystem) -> ResumePoint:
    """The first whole checkpoint folder among candidates (newest first), and what was skipped."""
    refused: list[str] = []
    incomplete: list[str] = []
    notes: list[str] = []
    for candidate in candidates:
        try:
            with local_copy(candidate, fs) as d:
                return ResumePoint(load_checkpoint_dir(d), refused, incomplete, notes)
        except IncompleteCheckpoint as e:
            incomplete.append(candidate)
            notes.append(f"{e}; set aside")
        except CheckpointError as e:
            refused.append(candidate)
            notes.append(str(e))
    return ResumePoint(None, refused, incomplete, notes)


def find_resume_point(location: str, fs: pafs.FileSystem) -> ResumePoint:
    """The offered checkpoint, or the newest older whole one if it is incomplete or refused.

    None whole but some never completed: start from step 0 (nothing was lost but the cut-off
    write). None whole and some refused (altered, bit rot): fail naming each, since resuming
    from step 0 silently would discard the run.
    """
    offered = location.rstrip("/")
    siblings = _folders_newest_first(fs, offered.rsplit("/", 1)[0], "checkpoint_")
    found = _load_first_whole([offered] + [p for p in siblings if p < offered], fs)
    if found.state is None and found.refused:
        raise CheckpointError(
            "no usable checkpoint to resume from: no whole checkpoint among:\n"
            + "\n".join(found.notes)
        )
    return found


def set_aside(locations: list[str], fs: pafs.FileSystem) -> None:
    """Delete checkpoint folders that were never completed (they hold nothing to resume)."""
    for location in locations:
        fs.delete_dir(location)


def _keep_newest(local_dir: Path, parent: str, name: str, prefix: str, keep: int) -> str:
    """Copy a written checkpoint folder to parent/name (manifest last, so a cut-off copy is
    never whole), then drop all but the newest `keep` prefix* folders; returns the copy."""
    dest = storage.join(parent, name)
    storage.upload(local_dir, dest, last=MANIFEST, before_each=copy_hook)
    if copy_hook is not None:
        copy_hook("done", None, storage.filesystem(dest)[1])
    fs, root = storage.filesystem(parent)
    for older in _folders_newest_first(fs, root, prefix)[keep:]:
        fs.delete_dir(older)
    return dest


def persist(local_dir: Path, run_dir: str, keep: int) -> str:
    """Copy a written checkpoint folder into run_dir as Ray's controller would (named by time),
    keeping the newest `keep`; returns the copy's location."""
    name = f"checkpoint_{datetime.now():%Y-%m-%d_%H-%M-%S.%f}"
    return _keep_newest(local_dir, run_dir, name, "checkpoint_", keep)


def newest_checkpoint(run_dir: str) -> tuple[str, pafs.FileSystem] | None:
    """The newest checkpoint folder in a run folder (whole or not), or None."""
    fs, root = storage.filesystem(run_dir)
    found = _folders_newest_first(fs, root, "checkpoint_")
    return (found[0], fs) if found else None


def save_best(local_dir: Path, best_dir: str, step: int) -> None:
    """Copy a written checkpoint folder to best_dir/step_NNNNNNN (manifest last), then drop
    the older best: a copy cut off midway leaves the previous best whole."""
    _keep_newest(local_dir, best_dir, f"step_{step:07d}", "step_", 1)


def load_best(best_dir: str) -> dict[str, Any]:
    """The whole best checkpoint kept under best_dir."""
    fs, root = storage.filesystem(best_dir)
    found = _load_first_whole(_folders_newest_first(fs, root, "step_"), fs)
    if found.state is None:
        raise CheckpointError(
            f"no whole best checkpoint under {best_dir}: " + ("; ".join(found.notes) or "none")
        )
    return found.state


def rng_state() -> dict[str, Any]:
    """This process's torch (CPU, CUDA), numpy and python RNG states, as plain tensors."""
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": version,
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state captured."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"].tolist()), p["gauss_next"]))

"""Kill at every write point of a checkpoint: the rerun resumes from the newest whole one (or
step 0), says which, and ends bitwise equal to an uninterrupted run.

The fault is injected deterministically through `checkpoints.copy_hook`, the seam before each
file of a checkpoint copy and after the copy: at the chosen point it leaves the files as a kill
would (a prefix of the file being written) and raises `Killed`, a BaseException that no retry
or cleanup catches, so nothing after it runs. A real SIGKILL of `gan train` mid-run is in
tests/test_in_process.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from pipeline import checkpoints
from pipeline.checkpoints import CHECKPOINT_FILE, MANIFEST, load_checkpoint_dir
from pipeline.config import Params, load_params
from pipeline.prepare import prepare
from pipeline.train import fit
from tests.helpers import BABY, write_params

STEPS, EVERY = 6, 2  # checkpoints at steps 2, 4, 6
TRAIN = {"num_workers": 1, "steps": STEPS, "checkpoint_every": EVERY, "log_every": EVERY,
         "sample_every": STEPS, "keep_checkpoints": 2, "keep_best": False,
         "max_failures": 0}  # fmt: skip
# Where a kill can land while a checkpoint folder is copied into the run folder.
POINTS = ("state_partial", "state_done", "manifest_partial", "manifest_done")


class Killed(BaseException):
    """The process died here: nothing after this point runs."""


def _params(root: Path, storage_path: str) -> Params:
    train = {**TRAIN, "storage_path": storage_path, "batch_size": 16}
    tiny = {"model": {"z_dim": 8, "g_channels": 8, "d_channels": 8}, "train": train}
    return load_params(write_params(root / "params.yaml", BABY, tiny))


def _cut(source: Path, target: str) -> None:
    """Leave the first half of source at target, as a write cut off midway would."""
    data = source.read_bytes()
    Path(target).write_bytes(data[: len(data) // 2])


def _kill_at(point: str, nth: int):
    """A copy hook that kills the run at `point` of the nth checkpoint copy."""
    copies = [0]

    def hook(name: str, source: Path | None, target: str) -> None:
        copies[0] += name == CHECKPOINT_FILE  # a new copy starts with its state file
        if copies[0] != nth:
            return
        if point == "state_partial" and name == CHECKPOINT_FILE:
            _cut(source, target)
            raise Killed
        if point == "state_done" and name == MANIFEST:
            raise Killed
        if point == "manifest_partial" and name == MANIFEST:
            _cut(source, target)
            raise Killed
        if point == "manifest_done" and name == "done":
            raise Killed

    return hook


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Prepared data shared by every case, and an uninterrupted run's final state."""
    root = tmp_path_factory.mktemp("reference")
    params = _params(root, "ray_runs")
    prepare(params.data, root / "prepared")
    _, state = fit(params, root, root / "prepared")
    assert state["step"] == STEPS
    return root / "prepared", state


def _checkpoint_folders(run_parent: Path) -> list[Path]:
    return sorted(p for p in run_parent.glob("gan-*/checkpoint_*") if p.is_dir())


@pytest.mark.parametrize("uri", [False, True], ids=["folder", "file-uri"])
@pytest.mark.parametrize("nth", [1, 2], ids=["first", "later"])
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_write_point_resumes_from_the_newest_whole_checkpoint(
    reference: tuple[Path, dict[str, Any]],
    empty_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    point: str,
    nth: int,
    uri: bool,
) -> None:
    prepared, want = reference
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    runs = tmp_path / "runs"
    params = _params(tmp_path, runs.as_uri() if uri else str(runs))
    monkeypatch.setattr(checkpoints, "copy_hook", _kill_at(point, nth))
    with pytest.raises(Killed):
        fit(params, tmp_path, prepared)
    killed_at = nth * EVERY
    # The kill left the folder it names: the write point really was reached.
    newest = _checkpoint_folders(runs)[-1]
    assert (newest / CHECKPOINT_FILE).is_file()
    assert (newest / MANIFEST).is_file() == (point in ("manifest_partial", "manifest_done"))

    monkeypatch.setattr(checkpoints, "copy_hook", None)
    capsys.readouterr()
    result, state = fit(params, tmp_path, prepared)
    out = capsys.readouterr().out
    whole = killed_at if point == "manifest_done" else killed_at - EVERY
    assert result.start_step == whole
    if whole:
        assert f"resuming from the checkpoint at step {whole}" in out
    else:
        assert "no whole checkpoint to resume from: starting from step 0" in out
    if point != "manifest_done":  # the cut-off folder was named and set aside
        assert f"{newest.name}" in out and "set aside" in out
        assert not newest.exists()
    assert state["step"] == STEPS
    for net in ("G", "D", "G_ema"):
        for key, value in want[net].items():
            assert torch.equal(state[net][key], value), f"{net}.{key} differs"
    kept = [load_checkpoint_dir(p)["step"] for p in _checkpoint_folders(runs)]
    assert kept == [STEPS - EVERY, STEPS]  # only whole ones, train.keep_checkpoints of them


def test_an_altered_whole_checkpoint_is_refused_by_name_and_the_previous_one_used(
    reference: tuple[Path, dict[str, Any]],
    empty_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prepared, want = reference
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    params = _params(tmp_path, "ray_runs")
    fit(params, tmp_path, prepared)
    older, newest = _checkpoint_folders(tmp_path / "ray_runs")
    raw = bytearray((newest / CHECKPOINT_FILE).read_bytes())
    raw[-100] ^= 0xFF  # bit rot: same size, manifest whole
    (newest / CHECKPOINT_FILE).write_bytes(bytes(raw))
    capsys.readouterr()
    result, state = fit(params, tmp_path, prepared)
    out = capsys.readouterr().out
    assert f"{newest / CHECKPOINT_FILE} is torn or altered" in out
    assert result.start_step == STEPS - EVERY
    assert newest.exists()  # refused, kept for a look; never deleted
    for key, value in want["G_ema"].items():
        assert torch.equal(state["G_ema"][key], value)

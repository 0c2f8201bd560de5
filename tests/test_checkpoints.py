"""Checkpoint files: whole or refused by name (torn, altered, incomplete, pickled code), a bad
newest one falls back to the next, RNG states round-trip, and a rollback restores exactly."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest
import torch

from ganmodels.build import build_discriminator, build_generator
from ganmodels.ema import make_ema
from pipeline.checkpoints import (
    CHECKPOINT_FILE,
    MANIFEST,
    CheckpointError,
    find_resume_point,
    load_checkpoint_dir,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from pipeline.evaluate import load_generator_state
from pipeline.guards import LastGood
from pipeline.phases import Phases, Recipe
from pipeline.streams import seeded
from tests.helpers import save_tiny_generator

PWNED = "pwned.txt"


class _Payload:
    """Unpickling this runs code: what a tampered checkpoint would carry."""

    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


def _state(step: int) -> dict:
    return {"step": step, "run_key": "k", "G": {"w": torch.full((3,), float(step))}}


def _save(root: Path, name: str, step: int) -> Path:
    d = root / name
    d.mkdir(parents=True)
    write_checkpoint(d, _state(step))
    return d


def test_a_whole_checkpoint_round_trips_with_its_manifest(tmp_path: Path) -> None:
    d = _save(tmp_path, "checkpoint_2026-01-01_00-00-01.000000", 40)
    manifest = json.loads((d / MANIFEST).read_text())
    assert manifest["step"] == 40 and manifest["bytes"] == (d / CHECKPOINT_FILE).stat().st_size
    assert torch.equal(load_checkpoint_dir(d)["G"]["w"], torch.full((3,), 40.0))
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]  # temp files renamed away


def test_torn_altered_and_incomplete_checkpoints_are_refused_by_name(tmp_path: Path) -> None:
    torn = _save(tmp_path, "torn", 1)
    data = (torn / CHECKPOINT_FILE).read_bytes()
    (torn / CHECKPOINT_FILE).write_bytes(data[: len(data) // 2])  # a write cut off midway
    with pytest.raises(CheckpointError, match=rf"{torn / CHECKPOINT_FILE} is torn or altered"):
        load_checkpoint_dir(torn)

    flipped = _save(tmp_path, "flipped", 1)
    raw = bytearray((flipped / CHECKPOINT_FILE).read_bytes())
    raw[-100] ^= 0xFF  # same size, one byte changed
    (flipped / CHECKPOINT_FILE).write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="torn or altered"):
        load_checkpoint_dir(flipped)

    incomplete = _save(tmp_path, "incomplete", 1)
    (incomplete / MANIFEST).unlink()  # the copy stopped before its last file
    with pytest.raises(CheckpointError, match=r"no manifest.json: it is incomplete"):
        load_checkpoint_dir(incomplete)


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "tampered"
    d.mkdir()
    # The attacker also rewrites the manifest, so the digest matches: weights_only must refuse.
    write_checkpoint(d, _state(1))
    torch.save({**_state(1), "G": _Payload()}, d / CHECKPOINT_FILE)
    size = (d / CHECKPOINT_FILE).stat().st_size
    digest = hashlib.sha256((d / CHECKPOINT_FILE).read_bytes()).hexdigest()
    (d / MANIFEST).write_text(json.dumps({"step": 1, "bytes": size, "sha256": digest}))
    with pytest.raises(CheckpointError, match=r"refused: it is not a plain weights file"):
        load_checkpoint_dir(d)
    assert not (tmp_path / PWNED).exists()

    # The same for the exported generator that evaluate, register and serving load.
    gen = save_tiny_generator(tmp_path / "generator.pt")
    with gen.open("wb") as f:
        pickle.dump(_Payload(), f)
    with pytest.raises(ValueError, match=rf"generator file {gen} refused"):
        load_generator_state(gen)
    gen.write_bytes(b"PK\x03\x04 cut")  # a torn zip
    with pytest.raises(ValueError, match=rf"generator file {gen} is torn or corrupt"):
        load_generator_state(gen)
    assert not (tmp_path / PWNED).exists()


def test_a_bad_newest_checkpoint_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    older = _save(tmp_path, "checkpoint_2026-01-01_00-00-01.000000", 40)
    newest = _save(tmp_path, "checkpoint_2026-01-01_00-00-02.000000", 80)
    # A folder newer than the one Ray offers (copied, never registered) is never used.
    _save(tmp_path, "checkpoint_2026-01-01_00-00-03.000000", 120)
    fs = pafs.LocalFileSystem()
    found = find_resume_point(str(newest), fs)
    assert found.state["step"] == 80 and found.notes == []

    (newest / CHECKPOINT_FILE).write_bytes(b"torn")  # whole manifest, altered state: refused
    found = find_resume_point(str(newest), fs)
    assert found.state["step"] == 40 and found.refused == [str(newest)]
    assert len(found.notes) == 1 and "torn or altered" in found.notes[0]

    shutil.rmtree(older)
    with pytest.raises(CheckpointError, match="no usable checkpoint to resume from"):
        find_resume_point(str(newest), fs)


def test_never_completed_checkpoints_are_set_aside_not_refused(tmp_path: Path) -> None:
    fs = pafs.LocalFileSystem()
    first = _save(tmp_path, "checkpoint_2026-01-01_00-00-01.000000", 40)
    (first / MANIFEST).write_text((first / MANIFEST).read_text()[:20])  # manifest cut off
    found = find_resume_point(str(first), fs)  # the only checkpoint: start from step 0
    assert found.state is None and found.refused == [] and found.incomplete == [str(first)]
    assert "torn" in found.notes[0] and "incomplete" in found.notes[0]

    (first / MANIFEST).write_text("")  # empty (created, nothing written yet)
    assert find_resume_point(str(first), fs).incomplete == [str(first)]
    (first / MANIFEST).unlink()  # state written, manifest never started
    assert find_resume_point(str(first), fs).incomplete == [str(first)]

    older = _save(tmp_path, "checkpoint_2026-01-01_00-00-00.000000", 20)
    flipped = bytearray((older / CHECKPOINT_FILE).read_bytes())
    flipped[-100] ^= 0xFF
    (older / CHECKPOINT_FILE).write_bytes(bytes(flipped))
    # An altered whole one beside an incomplete one: refused by name, never step 0 silently.
    with pytest.raises(CheckpointError, match=rf"(?s)no usable.*{older.name}.*torn or altered"):
        find_resume_point(str(first), fs)


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    write_checkpoint(tmp_path, {"step": 1, "rng": [rng_state()]})
    want = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    set_rng_state(load_checkpoint_dir(tmp_path)["rng"][0])
    got = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    assert torch.equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]


def _phases() -> Phases:
    cfg = {"kind": "image", "architecture": "dcgan", "z_dim": 8, "channels": 1, "image_size": 8}
    cfg |= {"g_channels": 8, "d_channels": 8, "num_classes": 0}
    torch.manual_seed(0)
    G, D = build_generator(cfg), build_discriminator(cfg)
    recipe = Recipe(
        objective="hinge", lr_g=4e-4, lr_d=4e-4, betas=(0.0, 0.9), d_steps=1, r1_gamma=0.0,
        r1_interval=2, gp_weight=0.0, ema_decay=0.99, augment=(), augment_p=0.0,
        ada_target=0.0, ada_interval=2, ada_speed_images=100,
    )  # fmt: skip
    return Phases(G, D, make_ema(G), recipe)


def test_rollback_restores_the_last_good_state_exactly_with_a_lower_lr() -> None:
    phases = _phases()
    real = torch.rand(16, 1, 8, 8) * 2 - 1
    for step in range(3):
        phases.step([(real, None)], step, seeded("t", 0, step))
    last_good = LastGood(3, phases)
    want = {k: v.clone() for k, v in phases.G.state_dict().items()}
    clean_next = phases.step([(real, None)], 3, seeded("t", 0, 3))

    phases.poison = {("D_main", 4)}
    stats = phases.step([(real, None)], 4, seeded("t", 0, 4))
    assert not torch.isfinite(stats[0])
    assert not all(torch.isfinite(p).all() for p in phases.D.parameters())

    assert last_good.restore(phases, lr_factor=0.5) == 3
    assert all(torch.equal(phases.G.state_dict()[k], v) for k, v in want.items())
    assert phases.rollbacks == 1 and phases.lr_scale == 0.5
    assert phases.opt_g.param_groups[0]["lr"] == phases.opt_d.param_groups[0]["lr"] == 2e-4
    assert phases.state_dict()["rollbacks"] == 1  # saved with the next checkpoint
    # The replayed step starts from the same state (same D loss) and is clean: the fault fired
    # once.
    replay = phases.step([(real, None)], 3, seeded("t", 0, 3))
    assert torch.isfinite(replay).all() and torch.equal(replay[0], clean_next[0])

"""The commit a run records: clean when only what the pipeline writes differs, else named."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipeline.lineage import git_tags


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _repo(root: Path) -> str:
    """A committed project with dvc.lock, a cache: false metric in git and some code."""
    root.mkdir()
    (root / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: gan train\n    outs:\n      - models/\n"
        "    metrics:\n      - metrics/train.json:\n          cache: false\n"
    )
    for rel in ("dvc.lock", "metrics/train.json", "models/a.pt", "code.py", "notes.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("v1\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    return sha


def test_files_the_pipeline_writes_leave_the_commit_clean(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    sha = _repo(root)
    assert git_tags(root) == {"git_commit": sha}
    for rel in ("dvc.lock", "metrics/train.json", "models/a.pt"):  # what `dvc repro` rewrites
        (root / rel).write_text("v2\n")
    (root / "untracked.py").write_text("x\n")  # untracked files are not the recorded code
    assert git_tags(root) == {"git_commit": sha}


def test_other_changes_mark_it_dirty_and_are_named(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    sha = _repo(root)
    (root / "dvc.lock").write_text("v2\n")
    (root / "code.py").write_text("v2\n")
    _git(root, "mv", "notes.md", "renamed notes.md")
    tags = git_tags(root)
    assert tags["git_commit"] == f"{sha}-dirty"
    assert tags["git_changes"].split(", ") == ["code.py", "renamed notes.md"]


def test_outside_git_the_commit_is_unknown(tmp_path: Path) -> None:
    assert git_tags(tmp_path) == {"git_commit": "unknown"}

"""Code lineage of a run: its git commit, clean unless files besides the pipeline's own differ."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

# What `dvc repro` itself rewrites while it runs: recorded as dirty, every version it registers
# would look built from uncommitted code.
PIPELINE_WRITTEN = ("dvc.lock",)
MAX_LISTED = 20  # changed files named in the tag; the rest counted


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def stage_outputs(root: Path) -> list[str]:
    """Paths dvc.yaml declares as outs, metrics or plots of its stages (none without dvc.yaml)."""
    spec = root / "dvc.yaml"
    if not spec.is_file():
        return []
    stages = (yaml.safe_load(spec.read_text()) or {}).get("stages") or {}
    found = []
    for stage in stages.values():
        for field in ("outs", "metrics", "plots"):
            for entry in stage.get(field) or []:
                found.extend(entry if isinstance(entry, dict) else [entry])
    return [str(p).rstrip("/") for p in found]


def _pipeline_written(path: str, outputs: list[str]) -> bool:
    return path in PIPELINE_WRITTEN or any(path == o or path.startswith(o + "/") for o in outputs)


def changed_files(root: Path) -> list[str]:
    """Tracked files that differ from HEAD, other than those the pipeline writes itself."""
    outputs = stage_outputs(root)
    # -z: paths as they are (no quoting); a rename's entry is followed by its old path.
    fields = _git(root, "status", "--porcelain", "-z", "--untracked-files=no").split("\0")
    changed, skip = [], False
    for field in fields:
        if skip or not field:
            skip = False
            continue
        status, path = field[:2], field[3:]
        skip = "R" in status or "C" in status
        if not _pipeline_written(path, outputs):
            changed.append(path)
    return changed


def git_tags(root: Path) -> dict[str, str]:
    """{'git_commit': HEAD (with '-dirty' when other files changed), 'git_changes': which}."""
    try:
        sha = _git(root, "rev-parse", "HEAD").strip()
        changed = changed_files(root)
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown"}
    if not changed:
        return {"git_commit": sha}
    listed = ", ".join(changed[:MAX_LISTED])
    more = len(changed) - MAX_LISTED
    return {
        "git_commit": f"{sha}-dirty",
        "git_changes": listed + (f" (and {more} more)" if more > 0 else ""),
    }

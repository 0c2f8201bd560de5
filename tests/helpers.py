"""Test helpers: small ("baby") params and isolated project directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml

from ganmodels.build import build_generator

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Baby preset: a real pipeline run in seconds, not minutes. Narrow nets (a quarter of the
# presets' 64 channels): every path a test checks is the same at any width, and a step costs a
# third (43 -> 14 ms on one CPU thread), which the multi-run restart and resume tests repeat.
BABY = {
    "model": {"z_dim": 16, "g_channels": 16, "d_channels": 16},
    "train": {
        "steps": 60,
        "batch_size": 64,
        "log_every": 10,
        "sample_every": 30,
        "checkpoint_every": 30,
        "max_failures": 0,  # tests of restarts set it; elsewhere a failure should fail at once
    },
    "evaluate": {"num_samples": 200, "classifier_epochs": 2},
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Nested dict update (returns a new dict)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def write_params(path: Path, *overrides: dict[str, Any]) -> Path:
    """params.yaml from the repo's defaults with nested overrides applied in order."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for over in overrides:
        params = merge(params, over)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def repo_params() -> dict:
    """The repo's params.yaml as a plain mapping (to edit before parse_params)."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


def params_error(raw: dict) -> str:
    """The ConfigError parse_params raises for raw (fails the test when it raises none)."""
    import pytest

    from pipeline.config import ConfigError, parse_params

    with pytest.raises(ConfigError) as exc:
        parse_params(raw)
    return str(exc.value)


def image_config(source: str | Path, **overrides: object) -> Any:
    """A data section for an image source at 8x8 grayscale, one shard per 1024 rows."""
    fields = {"source": str(source), "image_size": 8, "channels": 1, "split_seed": 0}
    return data_config(**{**fields, "rows_per_shard": 1024, "on_bad_file": "fail", **overrides})


def data_config(**overrides: Any) -> Any:
    """params.yaml's data section with overrides, as a DataConfig."""
    from pipeline.config import DataConfig, apply_kind

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    kind = overrides.get("kind", raw["data"]["kind"])
    defaults = apply_kind(merge(raw, {"data": {"kind": kind}}))["data"]
    return DataConfig(**{**defaults, **overrides})


def clean_env(**extra: str) -> dict[str, str]:
    """Subprocess env: our venv first on PATH, no outside Ray cluster or MLflow server."""
    outside = ("RAY_ADDRESS", "MLFLOW_TRACKING_URI", "RAY_API_SERVER_ADDRESS",
               "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def copy_project(dest: Path) -> Path:
    """A fresh git + DVC project holding this repo's pipeline files."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pipeline", "ganmodels"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(REPO / name, dest / name)
    env = clean_env()
    run = lambda *cmd: subprocess.run(cmd, cwd=dest, env=env, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q")
    run("git", "config", "user.email", "test@localhost")
    run("git", "config", "user.name", "test")
    run(str(BIN / "dvc"), "init", "-q")
    run(str(BIN / "dvc"), "config", "core.analytics", "false")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "project")
    return dest


def save_tiny_generator(path: Path) -> Path:
    """A small untrained generator export (what the train stage writes), for registry tests."""
    cfg = {
        "kind": "image",
        "architecture": "dcgan",
        "z_dim": 8,
        "channels": 1,
        "image_size": 8,
        "g_channels": 4,
        "d_channels": 4,
    }
    torch.save({"model_config": cfg, "state_dict": build_generator(cfg).state_dict()}, path)
    return path


def wait_for(
    check: Callable[[], tuple[bool, str]],
    what: str,
    timeout: float,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Poll check() -> (done, what it saw) until done; fail saying what was awaited, what was
    seen last, and the process's output if it exited first. Deadlines are sized for a loaded
    2-core machine: a wait ends on the event, so a long deadline costs nothing when all is well.
    """
    deadline = time.monotonic() + timeout
    while True:
        done, seen = check()
        if done:
            return
        output = log.read_text() if log and log.is_file() else ""
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"waiting for {what}: the process exited ({proc.returncode}); last seen: {seen}"
                f"\n{output}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waiting for {what}: not within {timeout:.0f} s; last seen: {seen}\n{output}"
            )
        time.sleep(0.05)


def short_table_fit(
    t: Any, df: Any, steps: int, d_hidden: tuple[int, ...], dropout: float, n: int = 4000
) -> Any:
    """A plain-torch WGAN-GP fit of CTGAN's nets on df's encoded rows; n rows decoded from an
    EMA of G (as the pipeline exports: a short WGAN fit's raw G oscillates, so its marginals
    depend on where the last step lands; the average is stable across seeds)."""
    from ganmodels.ema import make_ema, update_ema
    from ganmodels.regularizers import gradient_penalty
    from ganmodels.tabular.nets import PacDiscriminator, TabularGenerator

    data = torch.from_numpy(t.transform(df))
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(0)
    G = TabularGenerator(16, spans, hidden=(64, 64), implications=t.rule_positions)
    D = PacDiscriminator(t.width, pac=10, hidden=d_hidden, dropout=dropout)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.9))
    gen, G_ema = torch.Generator().manual_seed(0), make_ema(G)
    for _ in range(steps):
        real = data[torch.randint(0, len(df), (200,), generator=gen)]
        fake = G(torch.randn(200, 16, generator=gen), generator=gen)
        loss_d = D(fake.detach()).mean() - D(real).mean()
        loss_d = loss_d + 10 * gradient_penalty(D, real, fake, gen, pack=10).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = -D(G(torch.randn(200, 16, generator=gen), generator=gen)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        update_ema(G_ema, G, 0.99)
    with torch.no_grad():
        z = torch.randn(n, 16, generator=gen)
        return t.inverse_transform(G_ema.eval()(z, generator=gen).numpy())

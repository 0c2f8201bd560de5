"""The `gan` command: help for every subcommand, one clear line for bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.helpers import BIN, clean_env, write_params

COMMANDS = (
    "prepare",
    "classifier",
    "train",
    "evaluate",
    "register",
    "sample",
    "augment",
    "review",
    "models",
    "plots",
    "summary",
)


def test_console_script_help_lists_every_command() -> None:
    out = subprocess.run(
        [str(BIN / "gan"), "--help"], capture_output=True, text=True, env=clean_env(), check=True
    ).stdout
    for cmd in COMMANDS:
        assert cmd in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_each_command_has_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    assert "usage: gan " + cmd in capsys.readouterr().out


def test_bad_params_fail_with_the_key_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = write_params(tmp_path / "params.yaml", {"train": {"num_workers": 0}})
    assert main(["train", "--params", str(params)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gan train: error:") and "train.num_workers" in err


def test_missing_inputs_name_the_stage_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_params(tmp_path / "params.yaml")
    assert main(["evaluate"]) == 1
    assert "prepare" in capsys.readouterr().err
    assert main(["summary"]) == 1
    assert "dvc repro" in capsys.readouterr().err

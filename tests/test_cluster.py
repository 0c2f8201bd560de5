"""Training on a real Ray head (`ray start --head`, 127.0.0.1) tracked by a real MLflow server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from pipeline.cluster import stage_data
from pipeline.integrity import load_verified
from pipeline.tracking import active_tracking
from tests.conftest import _free_port
from tests.helpers import BABY, BIN, clean_env, wait_for, write_params
from tests.team import TeamServer, check_promotions, run_in


@dataclass(frozen=True)
class Head:
    """A running `ray start --head`: its Jobs API URL, GCS port and Ray temp root."""

    url: str
    port: int
    tmp: Path


def _answers(url: str) -> tuple[bool, str]:
    """Whether a GET of url answers 200 (with the token `ray start` wrote); else what it said."""
    token = Path.home() / ".ray" / "auth_token"
    request = urllib.request.Request(url)
    if token.is_file():
        request.add_header("Authorization", f"Bearer {token.read_text().strip()}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status == 200, f"HTTP {reply.status}"
    except urllib.error.HTTPError as e:
        return False, f"HTTP {e.code}: {e.read()[:200]!r}"
    except OSError as e:
        return False, str(e)


def _recorded(tmp: Path, port: int) -> tuple[bool, str]:
    """Whether Ray's address file under tmp names the head on this port; else what it holds."""
    current = tmp / "ray" / "ray_current_cluster"
    text = current.read_text().strip() if current.is_file() else "no file"
    return text.endswith(f":{port}"), text


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    """A head node with token auth (Ray's default) and its Jobs API, shared by this module's
    tests; always stopped. `ray start --block` in its own process group, so teardown stops this
    head alone (`ray stop` would stop every Ray on the machine).
    """
    # Our own agent port: every local Ray on this machine (other tests' fits) binds the default
    # 52365, and a head whose agent cannot bind has no agent to run jobs ("No available agent").
    port, dash, agent = _free_port(), _free_port(), _free_port()
    # Its own Ray temp root (short: socket paths live under it), where a job's driver finds its
    # cluster's address file: in /tmp/ray, another test's local Ray could be found instead.
    tmp = Path(tempfile.mkdtemp(prefix="rh", dir="/tmp"))
    log = tmp_path_factory.mktemp("ray_head") / "ray_start.log"
    with log.open("w") as out:
        head = subprocess.Popen(
            [
                str(BIN / "ray"),
                "start",
                "--head",
                "--block",
                "--num-cpus",
                "2",
                "--port",
                str(port),
                "--dashboard-host",
                "127.0.0.1",
                "--dashboard-port",
                str(dash),
                "--dashboard-agent-listen-port",
                str(agent),
                "--include-dashboard",
                "true",
                "--disable-usage-stats",
                f"--temp-dir={tmp / 'ray'}",
            ],
            env=clean_env(),
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{dash}"
        # Sized for a loaded 2-core machine: the head starts GCS, raylet, dashboard and agents.
        wait_for(lambda: _answers(f"{url}/api/jobs/"), f"the Jobs API at {url}", 300, head, log)
        # Listing jobs needs only the head; submitting one needs the head node's agent, which
        # registers itself once its HTTP server is up.
        health = f"http://127.0.0.1:{agent}/api/healthz"
        wait_for(lambda: _answers(health), f"the job agent at {health}", 300, head, log)
        # `ray start` records its head as this machine's cluster last of all, after the Jobs
        # API is up: the moment a bare ray.init() would join it.
        wait_for(lambda: _recorded(tmp, port), "ray_current_cluster naming it", 120, head, log)
        yield Head(url, port, tmp)
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head's GCS, raylet and workers share its group
        try:
            head.wait(timeout=5)  # `ray start --block` lingers after its children exit
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)  # its address file and session logs


def test_a_local_ray_never_joins_a_running_ray_start_cluster(
    ray_head: Head, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from pipeline.ray_driver import NO_STATE_API, init_ray

    # `ray start` recorded its head as the cluster of Ray's temp root (the head's own, set as
    # this test's): a bare ray.init() would join it.
    monkeypatch.setenv("RAY_TMPDIR", str(ray_head.tmp))
    assert _recorded(ray_head.tmp, ray_head.port)[0]
    # init_ray sets this for its own Ray; set here, it is removed again after the test.
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", NO_STATE_API)
    ray.shutdown()
    try:
        init_ray(1)  # what `train.in_process: false` does without RAY_ADDRESS
        gcs = ray.get_runtime_context().gcs_address
        assert not gcs.endswith(f":{ray_head.port}"), f"joined the ray start cluster at {gcs}"
    finally:
        ray.shutdown()


def _gan(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gan"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


def test_dvc_repro_trains_on_the_cluster(
    project: Path,
    ray_head: Head,
    team_server: TeamServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shared storage as a URI (what s3:// would be on a real cluster), opened by pyarrow.
    shared = (project.parent / "shared").as_uri()
    write_params(project / "params.yaml", BABY, {"train": {"storage_path": shared}})
    # The training identity may log runs and register versions (EDIT); its credentials reach
    # the job through the job's environment, the only way the job can log to this server.
    for user in ("trainer", "reviewer"):
        code, said = run_in(project, team_server.env("admin"), "gan", "grant", user, "--role", user)
        assert code == 0, said
    env = team_server.env("trainer", RAY_AUTH_MODE="token")

    # dvc repro with RAY_ADDRESS: the train stage submits and waits; its outs come back. (One
    # job: `gan submit` itself, its exit status and `gan jobs stop` are the next test's.)
    code, out = run_in(project, {**env, "RAY_ADDRESS": ray_head.url}, "dvc", "repro")
    assert code == 0, out
    sid = re.search(r"submit: job (gan-train-\S+)", out).group(1)
    assert f"job {sid} SUCCEEDED" in out
    assert out.count("uploaded prepared data") == 1
    assert "step     60/60" in out  # the job's progress display came through
    assert _gan(project, env, "jobs", "status", sid, "--address", ray_head.url).stdout.strip() == (
        "SUCCEEDED"
    )
    for rel in ("models/generator.pt", "models/train_run.json", "metrics/train.json"):
        assert (project / rel).is_file(), rel
    assert list((project.parent / "shared").glob("gan-*/checkpoint_*"))  # Ray's, on the URI
    # The prepared data was staged once, by content hash: staging it again copies nothing.
    schema = json.loads((project / "data/prepared/schema.json").read_text())
    staged = stage_data(project / "data/prepared", shared)
    assert staged.endswith(f"/datasets/{schema['data_hash']}")
    assert (project.parent / "shared/datasets" / schema["data_hash"] / "schema.json").is_file()
    assert "uploaded" not in capsys.readouterr().out

    def as_user(name: str) -> MlflowClient:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", team_server.passwords[name])
        return MlflowClient(tracking_uri=team_server.uri, registry_uri=team_server.uri)

    _tracked_on_the_server(project, team_server, out, as_user("trainer"))
    # The gate passed (a first version), but moving @champion is a reviewer's: left challenger.
    decision = json.loads((project / "metrics/register.json").read_text())
    assert decision["alias"] == "challenger", decision
    assert "user 'trainer' has EDIT on registered model 'gan-digits'" in decision["reason"]
    check_promotions(project, team_server, "gan-digits", str(decision["version"]), as_user)
    with active_tracking(team_server.uri):  # the champion, its files checked against the record
        model = load_verified("models:/gan-digits@champion", as_user("reviewer"))
    assert model.predict(pd.DataFrame({"n": [4], "seed": [0]})).shape == (4, 1, 8, 8)


def _tracked_on_the_server(project: Path, server: TeamServer, out: str, cli: MlflowClient) -> None:
    """The run and its version went to the team server (nothing to a local store, artifacts
    through the server), with no trace of the trainer's password there or in the output."""
    password = server.passwords["trainer"]
    assert password not in out  # in no log line of the stages or the job
    run_id = json.loads((project / "models/train_run.json").read_text())["run_id"]
    run = cli.get_run(run_id).data
    assert not [k for k, v in {**run.params, **run.tags}.items() if password in v]
    assert run.metrics["loss/G_main"] > 0 and "eval/fd_digits" in run.metrics
    assert cli.get_model_version("gan-digits", "1").run_id == run_id
    assert not (project / "mlflow.db").exists()
    logged = {f.path for f in cli.list_artifacts(run_id, "samples")}
    assert "samples/step_0000030.png" in logged


def test_jobs_stop_ends_a_running_job(project: Path, ray_head: Head, tmp_path: Path) -> None:
    # Baby nets, a progress line every 10 steps: the job is seen training within seconds.
    write_params(project / "params.yaml", BABY, {"train": {"steps": 100000, "log_every": 10}})
    env = clean_env(RAY_AUTH_MODE="token", MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'm.db'}")
    assert _gan(project, env, "prepare").returncode == 0
    log = (tmp_path / "submit.log").open("w")
    waiting = subprocess.Popen(
        [str(BIN / "gan"), "submit", "--address", ray_head.url],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300  # a job's start on a loaded 2-core machine
    # The progress line of a trained step: the job is past start-up and training.
    while not re.search(r"step +\d+/", text := (tmp_path / "submit.log").read_text()):
        assert waiting.poll() is None, text
        assert time.monotonic() < deadline, f"no trained step within 300 s; output:\n{text}"
        time.sleep(0.5)
    sid = re.search(r"submit: job (gan-train-\S+)", text).group(1)
    stop = _gan(project, env, "jobs", "stop", sid, "--address", ray_head.url)
    assert stop.returncode == 0 and f"job {sid} STOPPED" in stop.stdout, stop.stdout + stop.stderr
    assert waiting.wait(timeout=60) == 2  # `gan submit` mirrors the job's STOPPED
    log.close()
    assert f"job {sid} STOPPED" in (tmp_path / "submit.log").read_text()
    assert not (project / "models/generator.pt").exists()

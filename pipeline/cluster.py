"""Training as a Ray cluster job: `gan submit`, `gan jobs`, and the train stage's cluster mode.

The project travels as the job's working_dir. DVC outputs are gitignored and do not travel, so
the prepared shards go to shared storage (`train.storage_path`, content-addressed by data hash)
and the job writes its outputs there too; the submitting side copies them back into the DVC outs.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from pipeline import paths, storage
from pipeline.config import Params
from pipeline.data import read_schema
from pipeline.errors import PipelineError
from pipeline.tracking import tracking_uri

CONNECT_S = 20  # how long a refused connection to the Jobs API is retried

# Never uploaded: environments, caches, outputs and local stores.
EXCLUDES = [
    ".git",
    ".venv",
    ".dvc/cache",
    ".dvc/tmp",
    "data",
    "models",
    "metrics",
    "plots",
    "ray_runs",
    "mlartifacts",
    "mlruns",
    "mlflow.db",
    "dvc_plots",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    # Where credentials tend to live: they reach a job through its environment (SECRET_ENV).
    ".env",
    ".env.*",
    ".netrc",
    ".git-credentials",
    ".aws",
    ".mlflow",
    ".dvc/config.local",
    "*.pem",
    "*.key",
    "basic_auth.ini",
]
# Credentials a job needs, taken from the submitting environment into the job's (Ray's
# runtime_env env_vars, which only the cluster's token holders can list), never uploaded:
# MLflow's (MLFLOW_TRACKING_URI's users) and the cloud stores' behind train.storage_path.
SECRET_ENV = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "MLFLOW_S3_ENDPOINT_URL",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
)
# What the train stage writes, relative to the project root: copied back after the job.
TRAIN_OUTS = (
    paths.GENERATOR,
    paths.TRAIN_RUN,
    paths.METRICS / "train.json",
    paths.PLOTS / "losses.csv",
)
EXIT = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 2}


def jobs_address(address: str | None) -> str:
    """The cluster's Jobs API URL from --address or RAY_ADDRESS."""
    addr = address or os.environ.get("RAY_ADDRESS")
    if not addr:
        raise ValueError("no Ray cluster: pass --address or set RAY_ADDRESS=http://HEAD:8265")
    if not addr.startswith(("http://", "https://")):
        raise ValueError(
            f"Ray address {addr!r} is not a Jobs API URL: submission needs the dashboard "
            "address, e.g. http://HEAD:8265"
        )
    return addr


def is_jobs_address(addr: str | None) -> bool:
    """Whether RAY_ADDRESS names a cluster to submit to (rather than one to join directly)."""
    return bool(addr) and addr.startswith(("http://", "https://"))


def job_client(address: str | None) -> Any:
    """A JobSubmissionClient, with a hint when the cluster wants a token."""
    from ray.job_submission import JobSubmissionClient

    addr = jobs_address(address)
    # A busy head's dashboard can drop a connection for a moment (seen on a loaded 2-core
    # machine after it had answered): refused connections are retried for CONNECT_S seconds.
    deadline = time.monotonic() + CONNECT_S
    while True:
        try:
            return JobSubmissionClient(addr)
        except ConnectionError:
            if time.monotonic() < deadline:
                time.sleep(2)
                continue
            exc_text = f"Failed to connect to Ray at address: {addr} (for {CONNECT_S} s)"
        except Exception as exc:
            exc_text = str(exc)
        hint = "" if os.environ.get("RAY_AUTH_MODE") else " (token auth? set RAY_AUTH_MODE=token)"
        raise PipelineError(f"cannot reach the Ray cluster at {addr}: {exc_text}{hint}") from None


def _dir_size(root: Path) -> int:
    skip = {e for e in EXCLUDES if "*" not in e}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if (rel / d).as_posix() not in skip and d not in skip]
        total += sum((Path(dirpath) / f).stat().st_size for f in filenames if f not in skip)
    return total


def stage_data(prepared: Path, shared: str) -> str:
    """Copy the prepared shards to shared storage once per data hash; returns their location."""
    data_hash = read_schema(prepared)["data_hash"]
    dest = storage.join(shared, "datasets", data_hash)
    if not storage.is_file(storage.join(dest, "schema.json")):
        # schema.json goes last: its presence means a complete copy (readers check it first).
        storage.upload(prepared, dest, last="schema.json")
        print(f"submit: uploaded prepared data {data_hash[:12]} to {dest}", flush=True)
    return dest


def submit(
    params: Params, root: Path, address: str | None, params_path: str
) -> tuple[Any, str, str]:
    """Stage data and submit `gan train` as a job; returns (client, submission id, outputs)."""
    from pipeline.run_identity import run_key

    client = job_client(address)
    shared = storage.resolve(params.train.storage_path, root)
    dataset = stage_data(root / paths.PREPARED, shared)
    # Named after the training identity (as the Ray run and MLflow run are), then the time.
    key = run_key(params, read_schema(dataset)["data_hash"])
    sid = f"gan-train-{key}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    outputs = storage.join(shared, "outputs", sid)
    entrypoint = shlex.join(
        [
            "python",
            "-m",
            "pipeline",
            "train",
            "--params",
            params_path,
            "--prepared",
            dataset,
            "--out-dir",
            outputs,
            "--storage-root",
            str(root.resolve()),
        ]
    )
    size = _dir_size(root)
    _submit_job(
        client,
        address,
        entrypoint=entrypoint,
        submission_id=sid,
        runtime_env=runtime_env(root),
        metadata={"project": root.name, "params": params_path},
    )
    print(
        f"submit: job {sid} ({size / 1e6:.2f} MB working dir) -> {jobs_address(address)}",
        flush=True,
    )
    return client, sid, outputs


def runtime_env(root: Path) -> dict[str, Any]:
    """The job's runtime_env: the project as working_dir (no outputs, stores or credential
    files), the tracking URI and the credentials (SECRET_ENV) that are set, in its environment."""
    env = {
        "MLFLOW_TRACKING_URI": tracking_uri(root),
        # Read by the Train controller, which runs in the job: see pipeline/train.py.
        "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": os.environ.get(
            "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2"
        ),
        **{k: os.environ[k] for k in SECRET_ENV if os.environ.get(k)},
    }
    return {"working_dir": str(root), "excludes": EXCLUDES, "env_vars": env}


def _submit_job(client: Any, address: str, **job: Any) -> None:
    """client.submit_job(**job), naming the usual cause of Ray's 'No available agent'."""
    try:
        client.submit_job(**job)
    except RuntimeError as e:
        if "No available agent" not in str(e):
            raise
        # Ray's own words ("try again later") hide the usual cause: the head's dashboard agent
        # could not bind its port, so the head lists jobs but can run none.
        raise PipelineError(
            f"submit: the cluster at {jobs_address(address)} has no job agent on its head node "
            "(Ray: 'No available agent to submit job'). A head whose agent cannot bind "
            "--dashboard-agent-listen-port (default 52365, taken by any other Ray on that "
            "machine) never gets one: see dashboard_agent.log in the head's session logs, and "
            "restart the head with a free --dashboard-agent-listen-port."
        ) from e


def follow(client: Any, sid: str, poll_s: float = 1.0) -> str:
    """Print the job's log as it grows until it ends; returns its final status."""
    printed = 0
    while True:
        status = str(client.get_job_status(sid))
        logs = client.get_job_logs(sid)
        if len(logs) > printed:
            sys.stdout.write(logs[printed:])
            sys.stdout.flush()
            printed = len(logs)
        if status in EXIT:
            return status
        time.sleep(poll_s)


def fetch_outputs(outputs: str, root: Path) -> None:
    """Copy the job's train outs back to where DVC expects them."""
    for rel in TRAIN_OUTS:
        src = storage.join(outputs, rel.as_posix())
        if not storage.is_file(src):
            raise PipelineError(f"the job finished but left no {rel} in {outputs}")
        storage.download(src, root / rel)


def run_on_cluster(params: Params, root: Path, address: str | None, params_path: str) -> int:
    """Submit, stream logs, and bring the outs back; returns the job's exit status."""
    client, sid, outputs = submit(params, root, address, params_path)
    status = follow(client, sid)
    print(f"submit: job {sid} {status}", flush=True)
    if status == "SUCCEEDED":
        fetch_outputs(outputs, root)
    return EXIT[status]


def jobs(action: str, sid: str, address: str | None) -> int:
    """`gan jobs status|logs|stop ID`."""
    client = job_client(address)
    if action == "status":
        print(client.get_job_status(sid))
    elif action == "logs":
        print(client.get_job_logs(sid), end="")
    else:
        client.stop_job(sid)
        status = follow_quietly(client, sid)
        print(f"job {sid} {status}")
        return 0 if status == "STOPPED" else 1
    return 0


def follow_quietly(client: Any, sid: str, timeout_s: float = 60.0) -> str:
    """Wait for a job to reach a final status without printing its log."""
    deadline = time.monotonic() + timeout_s
    while (status := str(client.get_job_status(sid))) not in EXIT:
        if time.monotonic() > deadline:
            raise PipelineError(f"job {sid} still {status} after {timeout_s:.0f} s")
        time.sleep(0.5)
    return status

"""Two-worker DDP through the real training loop on a local Ray cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import ray
import ray.cloudpickle
import ray.train
from mlflow.tracking import MlflowClient
from ray.train import RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from pipeline.checkpoints import load_checkpoint_dir
from pipeline.config import load_params
from pipeline.data import read_schema
from pipeline.kinds import for_schema
from pipeline.loop import LoopSpec, param_digest, run_worker
from pipeline.prepare import prepare
from pipeline.ray_driver import NO_STATE_API
from pipeline.tracking import client, ensure_experiment
from pipeline.train import TrainingError, fit
from tests.helpers import BABY, write_params

# Workers cannot import this test module: ship the wrapper by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _worker(config: dict) -> None:
    """Run the real loop, then dump each rank's parameters for the test to compare."""
    G, D = run_worker(config["spec"])
    ctx = ray.train.get_context()
    out = Path(config["out"])
    np.save(out / f"G_rank{ctx.get_world_rank()}.npy", param_digest(G))
    np.save(out / f"D_rank{ctx.get_world_rank()}.npy", param_digest(D))
    (out / f"world_rank{ctx.get_world_rank()}.txt").write_text(str(ctx.get_world_size()))


@pytest.fixture(scope="module")
def ray_local():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_API_SERVER_ADDRESS", NO_STATE_API)  # as ray_driver.init_ray does
        ray.shutdown()  # an earlier test's local Ray in this process
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield
        ray.shutdown()


# The image default, and sequences (a GRU pair: DDP over recurrent weights).
KINDS = {
    "image": {},
    "sequence": {
        "data": {"kind": "sequence", "source": "sines"},
        "model": {"preset": "rnn", "conditional": False},
    },
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_two_workers_keep_identical_replicas(tmp_path: Path, ray_local: None, kind: str) -> None:
    params = load_params(
        write_params(
            tmp_path / "params.yaml",
            BABY,
            KINDS[kind],
            {"train": {"steps": 12, "log_every": 4, "checkpoint_every": 6}},
        )
    )
    prepared = tmp_path / "prepared"
    prepare(params.data, prepared)
    schema = read_schema(prepared)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cli = client(uri)
    exp = ensure_experiment(cli, "ddp-test", tmp_path)
    run_id = cli.create_run(exp).info.run_id
    spec = LoopSpec(
        model_config=for_schema(schema).model_config(params, schema, prepared),
        train=params.train,
        prepared_dir=str(prepared),
        tracking_uri=uri,
        run_id=run_id,
        run_key="ddp-test",
    )
    out = tmp_path / "dumps"
    out.mkdir()
    result = TorchTrainer(
        _worker,
        train_loop_config={"spec": spec, "out": str(out)},
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(name="ddp-test", storage_path=str(tmp_path / "ray")),
    ).fit()
    assert result.error is None

    assert [(out / f"world_rank{r}.txt").read_text() for r in (0, 1)] == ["2", "2"]
    for net in ("G", "D"):
        r0, r1 = np.load(out / f"{net}_rank0.npy"), np.load(out / f"{net}_rank1.npy")
        np.testing.assert_array_equal(r0, r1, err_msg=f"{net} replicas diverged")
    # The replicas trained: they moved away from the shared initialisation.
    with result.checkpoint.as_directory() as d:
        state = load_checkpoint_dir(d)
    assert state["step"] == 12
    g0 = np.concatenate(
        [
            v.double().flatten().numpy()
            for k, v in state["G"].items()
            if "running" not in k and "num_batches" not in k
        ]
    )
    np.testing.assert_allclose(g0, np.load(out / "G_rank0.npy"))
    # Both ranks logged through one writer: rank 0's metrics reached MLflow, at every log step
    # and at every checkpoint (each is checked for NaN/inf first).
    hist = cli.get_metric_history(run_id, "loss/D_main")
    assert [m.step for m in hist] == [4, 6, 8, 12]


def test_worker_failure_fails_the_stage_and_the_mlflow_run(tmp_path: Path, ray_local: None) -> None:
    params = load_params(write_params(tmp_path / "params.yaml", BABY))
    prepared = tmp_path / "prepared"
    prepare(params.data, prepared)
    shard = next((prepared / "train").glob("*.parquet"))
    shard.unlink()  # the driver only reads schema.json: the workers find the hole
    with pytest.raises(TrainingError) as exc:
        fit(params, tmp_path, prepared)
    assert shard.name in str(exc.value)
    cli = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = cli.search_runs([cli.get_experiment_by_name("gan").experiment_id])
    assert run.info.status == "FAILED"

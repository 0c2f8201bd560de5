"""Registry gate on a real MLflow SQLite store: promotion, challenger, and failure safety."""

from __future__ import annotations

import inspect
import json
import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from pipeline.config import PipelineError, RegisterConfig
from pipeline.promote import promote, rollback
from pipeline.register import register
from pipeline.registry_lock import lock_name, promotion_lock
from pipeline.tracking import client, ensure_experiment
from tests.helpers import save_tiny_generator

CFG = RegisterConfig(
    model_name="gan-test", primary_metric="fd_digits", higher_is_better=False, min_improvement=0.1
)


@pytest.fixture
def store(tmp_path: Path, empty_store: Path) -> tuple[MlflowClient, str, Path]:
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    cli = client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = ensure_experiment(cli, "reg-test", tmp_path)
    gen = save_tiny_generator(tmp_path / "generator.pt")
    return cli, exp, gen


def _register(cli: MlflowClient, exp: str, gen: Path, fd: float):
    run_id = cli.create_run(exp).info.run_id
    return register(cli, CFG, run_id, gen, {"fd_digits": fd}, {"data_hash": "d"})


def _champion(cli: MlflowClient) -> int:
    return int(cli.get_model_version_by_alias(CFG.model_name, "champion").version)


def test_gate_moves_champion_only_on_enough_improvement(store) -> None:
    cli, exp, gen = store
    first = _register(cli, exp, gen, 10.0)
    assert (first.version, first.alias, first.champion_before) == (1, "champion", None)
    worse = _register(cli, exp, gen, 9.5)  # better, but by less than min_improvement (10%)
    assert worse.alias == "challenger" and _champion(cli) == 1
    better = _register(cli, exp, gen, 8.0)
    assert better.alias == "champion" and better.champion_before == 1 and _champion(cli) == 3
    mv = cli.get_model_version(CFG.model_name, "3")
    assert mv.tags["metric.fd_digits"] == "8.0" and mv.tags["primary_metric"] == "fd_digits"


def test_failure_midway_leaves_the_champion(store, tmp_path: Path) -> None:
    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)
    with pytest.raises(Exception):  # noqa: B017 - whatever MLflow raises for a missing artifact
        _register(cli, exp, tmp_path / "missing.pt", 1.0)
    assert _champion(cli) == 1
    aliases = cli.get_registered_model(CFG.model_name).aliases
    assert aliases == {"champion": 1} or aliases == {"champion": "1"}


def test_unknown_primary_metric_names_the_key(store) -> None:
    cli, exp, gen = store
    run_id = cli.create_run(exp).info.run_id
    with pytest.raises(ValueError, match="register.primary_metric 'fd_digits'.*has: fd_other"):
        register(cli, CFG, run_id, gen, {"fd_other": 1.0}, {})


def test_a_champion_from_before_fd_is_compared_by_its_source_named_key(store) -> None:
    """An upgrade: the champion was gated on fd_digits, before `fd` existed, so it has no
    metric.fd tag; fd_digits is the same quantity, and is compared instead."""
    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)  # v1: CFG gates on fd_digits, the old default
    new = CFG.model_copy(update={"primary_metric": "fd"})

    def register_fd(fd: float, older: str):
        run_id = cli.create_run(exp).info.run_id
        return register(cli, new, run_id, gen, {"fd": fd, "fd_other": fd}, {}, older)

    # Not the same quantity (another source's FD): never promoted blind, and the reason says
    # what to do.
    other = register_fd(1.0, "fd_other")
    assert other.alias == "challenger" and _champion(cli) == 1
    assert "champion v1 of gan-test has no 'fd' nor 'fd_other'" in other.reason
    assert "gan promote 2 --reason" in other.reason
    worse = register_fd(12.0, "fd_digits")
    assert worse.alias == "challenger" and worse.champion_value_before == 10.0
    assert "(its fd_digits: the same quantity" in worse.reason
    with pytest.raises(PipelineError, match="v3 has fd 12, worse than champion v1's 10"):
        promote(cli, new, 3, reason="sharper", older="fd_digits")
    better = register_fd(8.0, "fd_digits")
    assert better.alias == "champion" and _champion(cli) == 4
    assert "fd 8 beats champion's 10" in better.reason


def test_promote_refuses_a_worse_version_without_force(store) -> None:
    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)  # v1 champion
    _register(cli, exp, gen, 12.0)  # v2 challenger (worse)
    with pytest.raises(PipelineError, match="worse than champion v1.*--force"):
        promote(cli, CFG, 2, reason="looks sharper")
    assert _champion(cli) == 1
    move = promote(cli, CFG, 2, reason="looks sharper", force=True)
    assert (move.version, move.previous) == (2, 1) and _champion(cli) == 2
    tags = cli.get_model_version(CFG.model_name, "2").tags
    assert tags["promotion_reason"] == "looks sharper" and tags["promotion"] == "forced"
    assert tags["previous_champion"] == "1" and tags["promoted_at"]
    assert "challenger" not in cli.get_registered_model(CFG.model_name).aliases


def test_promote_a_better_version_then_roll_back(store) -> None:
    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)  # v1 champion
    _register(cli, exp, gen, 9.5)  # v2 challenger: better, but under the gate's 10%
    with pytest.raises(ValueError, match="needs --reason"):
        promote(cli, CFG, 2, reason=" ")
    promote(cli, CFG, 2, reason="reviewed the grids")
    assert _champion(cli) == 2
    back = rollback(cli, CFG, reason="regression in production")
    assert (back.version, back.previous) == (1, 2) and _champion(cli) == 1
    assert cli.get_model_version(CFG.model_name, "1").tags["promotion"] == "rollback"
    with pytest.raises(ValueError, match="already the champion"):
        promote(cli, CFG, 1, reason="again")


def test_rollback_after_the_automatic_gate(store) -> None:
    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)
    _register(cli, exp, gen, 5.0)  # the gate promotes v2 and records v1 before it
    assert _champion(cli) == 2
    rollback(cli, CFG, reason="")
    assert _champion(cli) == 1
    with pytest.raises(ValueError, match="replaced no earlier champion"):
        rollback(cli, CFG, reason="")


def test_unconditional_model_refuses_a_label(store, tmp_path: Path) -> None:
    import mlflow.artifacts
    import mlflow.pyfunc
    import pandas as pd
    import yaml

    from pipeline.register import SERVING
    from pipeline.tracking import active_tracking

    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)
    with active_tracking(cli.tracking_uri):
        model = mlflow.pyfunc.load_model(f"models:/{CFG.model_name}@champion")
        logged = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{CFG.model_name}/1", dst_path=str(tmp_path / "logged")
            )
        )
    # Models from code: the pyfunc is serving.py's source, loaded by MLflow's code loader; no
    # pickled Python object (python_model.pkl, cloudpickle) is logged that loading would run.
    files = {f.relative_to(logged).as_posix() for f in logged.rglob("*") if f.is_file()}
    assert (logged / "serving.py").read_bytes() == SERVING.read_bytes()
    assert not [f for f in files if f.endswith((".pkl", ".pickle"))], files
    flavor = yaml.safe_load((logged / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert "python_model" not in flavor and flavor["model_code_path"].endswith("serving.py")
    assert model.predict(pd.DataFrame({"n": [3], "seed": [0]})).shape == (3, 1, 8, 8)
    # `label` is in every signature, so it reaches the model instead of being dropped.
    with pytest.raises(Exception, match="unconditional"):
        model.predict(pd.DataFrame({"n": [3], "seed": [0], "label": [2]}))


def _race_one(uri: str, root: str, fd: float, barrier: Any) -> int:
    cli = client(uri)
    exp = ensure_experiment(cli, "reg-test", Path(root))
    gen = Path(root) / "generator.pt"
    run_id = cli.create_run(exp).info.run_id
    barrier.wait()  # both processes register at the same moment
    return register(cli, CFG, run_id, gen, {"fd_digits": fd}, {}).version


def test_racing_registrations_both_get_versions_and_the_better_is_champion(
    store, tmp_path: Path
) -> None:
    cli, exp, gen = store
    uri = cli.tracking_uri
    ctx = multiprocessing.get_context("spawn")
    # Two rounds in both orders of submission: without the promotion lock the worse model
    # often takes champion, as each read "no better champion" before the other moved it.
    rounds = [(10.0, 5.0), (2.0, 1.0)]
    with ctx.Pool(2) as pool:
        for fds in rounds:
            barrier = ctx.Manager().Barrier(2)
            jobs = [pool.apply_async(_race_one, (uri, str(tmp_path), fd, barrier)) for fd in fds]
            versions = {fd: job.get(timeout=120) for fd, job in zip(fds, jobs, strict=True)}
            assert len(set(versions.values())) == 2
            assert _champion(cli) == versions[min(fds)], versions
    assert len(cli.search_model_versions(f"name='{CFG.model_name}'")) == 4
    assert not cli.search_registered_models(f"name='{CFG.model_name}.promotion-lock'")


def test_a_dead_holders_lock_is_broken_and_a_live_one_is_named(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.register

    cli, exp, gen = store
    lock = lock_name(CFG.model_name)
    cli.create_registered_model(lock, tags={"owner": "gone:1", "acquired_at": "0"})
    taken = []

    def watched(*args: Any, **kwargs: Any) -> Any:
        bound = inspect.signature(promotion_lock).bind(*args, **kwargs)
        bound.apply_defaults()
        taken.append((bound.arguments["wait_s"], bound.arguments["stale_s"]))
        return promotion_lock(*args, **kwargs)

    monkeypatch.setattr(pipeline.register, "promotion_lock", watched)
    assert _register(cli, exp, gen, 3.0).alias == "champion"  # the stale lock was broken
    assert not cli.search_registered_models(f"name='{lock}'")
    assert taken == [(120.0, 300.0)]  # register waits 2 minutes; breaks a lock of 5 minutes

    cli.create_registered_model(lock, tags={"owner": "host:42", "acquired_at": f"{time.time()}"})
    with (
        pytest.raises(PipelineError, match=r"held by host:42"),
        promotion_lock(cli, CFG.model_name, wait_s=0.5),
    ):
        pass


def test_a_lock_released_during_the_stores_lookup_is_taken_on_the_next_try(store) -> None:
    # A SQL store answers a failed insert by looking the model up; if its holder released it in
    # between, create_registered_model says "does not exist" (seen in a CI run of the race).
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    cli, _, _ = store
    create, calls = cli.create_registered_model, []

    def racing_create(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        if len(calls) == 1:
            raise MlflowException(f"Registered Model with name={name} not found",
                                  error_code=RESOURCE_DOES_NOT_EXIST)  # fmt: skip
        return create(name, *args, **kwargs)

    cli.create_registered_model = racing_create
    with promotion_lock(cli, CFG.model_name, wait_s=5):
        assert cli.search_registered_models(f"name='{lock_name(CFG.model_name)}'")
    assert calls == [lock_name(CFG.model_name)] * 2


def test_gan_augment_refuses_other_data_and_an_unconditional_model_for_labels(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered version trained on other data is refused by its data hash, before loading;
    an unconditional G cannot say which class its samples are, so labelled data refuses it;
    nothing is written either time."""
    import pipeline.augment as augment
    from pipeline.config import load_params
    from pipeline.prepare import prepare
    from tests.helpers import BABY, write_params

    cli, exp, gen = store
    _register(cli, exp, gen, 10.0)  # unconditional, tagged data_hash "d"
    over = {"register": {"model_name": CFG.model_name}}
    params = load_params(write_params(tmp_path / "params.yaml", BABY, over))
    prepare(params.data, tmp_path / "data/prepared")  # the digits: labelled, another hash
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ValueError, match=r"models:/gan-test@champion \(v1\) was trained on data d,"
    ):
        augment.main(None, 0.5, "train", 0, "aug", "params.yaml")
    data_hash = json.loads((tmp_path / "data/prepared/schema.json").read_text())["data_hash"]
    cli.set_model_version_tag(CFG.model_name, "1", "data_hash", data_hash)  # now it matches
    with pytest.raises(ValueError, match=r"is labelled \(10 classes\) and this model is uncond"):
        augment.main(None, 0.5, "train", 0, "aug", "params.yaml")
    logged = cli.get_model_version(CFG.model_name, "1").source  # models:/m-..., no version
    with pytest.raises(ValueError, match=r"is labelled \(10 classes\) and this model is uncond"):
        augment.main(logged, 0.5, "train", 0, "aug", "params.yaml")
    assert not (tmp_path / "aug").exists()

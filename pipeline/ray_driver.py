"""The Ray side of the train stage's driver: where the TorchTrainer runs (Ray Train's local
mode, actors in a fresh local Ray, or a cluster at RAY_ADDRESS), and running it."""

from __future__ import annotations

import logging
import os
import traceback
from typing import TYPE_CHECKING, Any

import torch

from pipeline import storage
from pipeline.errors import PipelineError, TrainingError
from pipeline.local_mode import LocalGroupError, fit_local, use_local_mode
from pipeline.loop import train_loop_per_worker
from pipeline.preflight import check_capacity

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.config import TrainConfig
    from pipeline.loop import LoopSpec

# The controller polls workers every 2 s by default, making each report() cost ~1-1.6 s.
os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")

NO_STATE_API = "http://127.0.0.1:1"  # nothing listens on port 1: connections refused at once


class TrainingFailed(PipelineError):
    """The workers failed; the message is their error (the driver marks the run FAILED)."""


def init_ray(num_workers: int) -> tuple[int, bool]:
    """Connect to RAY_ADDRESS or start a local Ray; returns (CPUs, whether we started it)."""
    import ray

    address = os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        # Worker output stays in Ray's logs: progress comes from MLflow, errors from fit().
        logging.getLogger("ray").setLevel(logging.ERROR)
        # The controller reads its poll interval from the environment: a local Ray inherits
        # ours; a cluster job gets it from `gan submit`'s runtime_env.
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            # Ray Train's PlacementGroupCleaner polls the state API, whose address comes from
            # /tmp/ray/ray_current_cluster: the last `ray start` cluster on this machine, dead
            # (each fit's teardown then stalls 12 s) or alive (the wrong cluster). Our local Ray
            # has no dashboard: point the API at an address that refuses at once.
            os.environ.setdefault("RAY_API_SERVER_ADDRESS", NO_STATE_API)
            # "local" forces a fresh instance: without it ray.init() silently joins any
            # cluster a `ray start` left running on this machine.
            ray.init(
                address="local",
                num_cpus=max(os.cpu_count() or 1, num_workers),
                include_dashboard=False,
                # Ray Train's actors carry a runtime env, so they never take the idle workers
                # Ray pre-starts; starting those only competes for the CPUs (~1 s per fit).
                _system_config={
                    "enable_worker_prestart": False,
                    "prestart_worker_first_driver": False,
                },
                **kwargs,
            )
    return int(ray.cluster_resources().get("CPU", 1)), not address


def _cluster_resources() -> dict[str, float]:
    import ray

    return {k: float(v) for k, v in ray.cluster_resources().items()}


def _use_gpu(choice: str | bool, num_workers: int) -> bool:
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    if choice is True and gpus < num_workers:
        raise TrainingError(
            f"train.use_gpu: true asks for {num_workers} GPUs; the Ray cluster has {gpus:g}"
        )
    return choice is True or (choice == "auto" and gpus >= num_workers)


class Driver:
    """Where and how one run's TorchTrainer runs."""

    def __init__(self, t: TrainConfig) -> None:
        """Decide local mode or Ray actors, and start (or join) Ray for actors."""
        from ray.train import ScalingConfig

        self.t, self.in_process = t, use_local_mode(t)
        if self.in_process:
            # Ray Train's local mode: the train function runs here (or in local processes, one
            # per rank), with no cluster to start.
            logging.getLogger("ray").setLevel(logging.ERROR)
            self.use_gpu = torch.cuda.is_available()  # local mode takes a GPU when there is one
            self.scaling = ScalingConfig(num_workers=0)
            return
        cpus, local = init_ray(t.num_workers)
        self.use_gpu = _use_gpu(t.use_gpu, t.num_workers)
        # On the local Ray we started, workers share its CPUs (torch threads follow); on a
        # shared cluster a worker asks for one CPU, so placement never waits on a node that
        # can't fit it.
        cpu_share = max(1, cpus // t.num_workers) if local and not self.use_gpu else 1
        per_worker = {"GPU": 1, "CPU": 1} if self.use_gpu else {"CPU": cpu_share}
        check_capacity(t.num_workers, per_worker, _cluster_resources())
        self.scaling = ScalingConfig(
            num_workers=t.num_workers, use_gpu=self.use_gpu, resources_per_worker=per_worker
        )

    def notes(self) -> list[str]:
        """What the user should know about settings that do nothing here."""
        out = [
            f"train: train.{flag} is a no-op on CPU workers (it helps on GPUs only)"
            for flag in ("bf16", "compile")  # channels_last is on by default: no note for it
            if getattr(self.t, flag) and not self.use_gpu
        ]
        if self.t.checkpoint_upload == "async" and self.in_process:  # loop copies in line there
            out.append(
                "train: train.checkpoint_upload: async is a no-op in local mode (Ray actors only)"
            )
        return out

    def where(self) -> str:
        """Where the workers run, for the stage's first line."""
        if not self.in_process:
            return ""
        return (
            " (in this process)"
            if self.t.num_workers == 1
            else " (local processes, no Ray cluster)"
        )

    def fit(self, spec: LoopSpec, name: str, root: Path) -> Any:
        """Run the trainer to its end; returns Ray's Result, or raises TrainingFailed."""
        from ray.train import CheckpointConfig, FailureConfig, RunConfig, TrainingFailedError
        from ray.train.torch import TorchTrainer

        t = self.t
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config={"spec": spec},
            scaling_config=self.scaling,
            run_config=RunConfig(
                name=name,
                storage_path=storage.resolve(t.storage_path, root),
                checkpoint_config=CheckpointConfig(num_to_keep=t.keep_checkpoints),
                failure_config=FailureConfig(max_failures=t.max_failures),
            ),
        )
        try:
            if self.in_process:
                return fit_local(trainer, t.num_workers, t.max_failures)
            return trainer.fit()
        except TrainingFailedError as exc:
            raise TrainingFailed(str(exc)) from None
        except Exception as exc:
            if not self.in_process:
                raise
            # Local mode raises the raw error; a local group, its failed rank's traceback.
            own = isinstance(exc, LocalGroupError)
            text = str(exc) if own else "".join(traceback.format_exception(exc)).strip()
            raise TrainingFailed(text) from None

"""Where a training rank starts: the newest whole checkpoint of its run, or step 0, or a refusal
to replay a failure that would recur identically. Plain torch.distributed; the loop passes in
what Ray offers (ray.train.get_checkpoint())."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch.distributed as dist

from pipeline.checkpoints import (
    CheckpointError,
    ResumePoint,
    find_resume_point,
    newest_checkpoint,
    set_aside,
)
from pipeline.errors import PipelineError
from pipeline.guards import CollapseError, DivergenceError

if TYPE_CHECKING:
    from pipeline.loop import LoopSpec
    from pipeline.tracking import TrainingRun

REPLAYED = {cls.__name__: cls for cls in (DivergenceError, CollapseError)}


def refuse_replay(writer: TrainingRun | None, world: int) -> None:
    """Re-raise a recorded NaN or collapse stop (rank 0 reads it; every rank raises)."""
    # It recurs when retried from the checkpoint (seeded data and latents), and Ray's
    # FailureConfig retries any worker error: re-raise at once instead.
    box = [writer.failure() if writer else None]
    if world > 1:
        dist.broadcast_object_list(box, src=0)
    if box[0]:
        name, _, message = box[0].partition(": ")
        raise REPLAYED.get(name, PipelineError)(f"{message} (not retried: it recurs identically)")


def resume(
    offered: Any, spec: LoopSpec, rank: int, world: int
) -> tuple[dict[str, Any] | None, list[str]]:
    """The newest whole checkpoint's state (None: step 0) and one line per folder skipped.

    offered: the checkpoint Ray offers (None in local mode, or when its run record is gone:
    then the run folder is searched).
    """
    found = (offered.path, offered.filesystem) if offered else None
    if found is None and spec.run_dir:
        found = newest_checkpoint(spec.run_dir)
    if found is None:
        return None, []
    point = find_resume_point(*found)
    state = point.state
    if state and state.get("run_key") != spec.run_key:  # never continue another run's weights
        raise CheckpointError(f"checkpoint of run {state.get('run_key')} offered to {spec.run_key}")
    if world > 1:
        dist.barrier()  # every rank has read the folders before any is set aside
    if rank == 0:
        _set_aside(point, spec, found[1])
    return state, point.notes


def _set_aside(point: ResumePoint, spec: LoopSpec, fs: Any) -> None:
    # Where rank 0 persists checkpoints itself (local mode) the run folder is ours to tidy; on
    # Ray actors, Ray's checkpoint manager owns the folders and prunes them.
    if spec.in_process and point.incomplete:
        set_aside(point.incomplete, fs)
    for note in point.notes:
        print(f"train: {note}", flush=True)
    if point.state is not None:
        print(f"train: resuming from the checkpoint at step {point.state['step']}", flush=True)
    elif point.incomplete:
        print("train: no whole checkpoint to resume from: starting from step 0", flush=True)

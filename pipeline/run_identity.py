"""What a training run is: params that change the result, the training code and the data.

Equal keys resume the same Ray run (and MLflow run); anything that changes the trained
weights gives a new key. `gan submit` names its job after it too.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from pipeline import code_graph

if TYPE_CHECKING:
    from pipeline.config import Params

# Keys that change how a run is watched or stored, not what it computes.
BOOKKEEPING = {
    "log_every",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "checkpoint_upload",
    "keep_best",
    "export",
    "storage_path",
    "experiment_name",
    # How a run reacts to trouble: a run stopped by the alarm or a NaN may be resumed under a
    # changed policy (a rollback's lower lr is in the checkpoint, so resumes stay exact).
    "stop_on_collapse",
    "collapse_window",
    "on_divergence",
    "max_rollbacks",
    "rollback_lr_factor",
    "max_failures",
    "in_process",  # where the loop runs, not what it computes
}
# The worker loop, and what the driver asks of the kind that shapes the networks and batches.
TRAINING_ROOTS = ("pipeline/loop.py",)
TRAINING_METHODS = ("model_config", "rank_data")
# Run by the workers, but no effect on the weights: MLflow records, and the kinds' dispatch
# layer (the registry, the interface, each kind.py), which only hands each call on to the
# module that does the work, hashed itself. So editing a kind's evaluate in its kind.py
# resumes the finished run instead of retraining it.
NOT_TRAINING = ("pipeline/tracking.py", "pipeline/kinds/__init__.py", "pipeline/kinds/base.py")


def training_code() -> list[str]:
    """The source files that determine the trained weights: a change to one must not resume
    an old run (the train stage's deps in dvc.yaml include them all: tests check it)."""
    found = code_graph.closure(TRAINING_ROOTS, TRAINING_METHODS)
    return sorted(f for f in found if f not in NOT_TRAINING and not f.endswith("/kind.py"))


def code_hash() -> str:
    """Hash of the training code's source files."""
    h = hashlib.sha256()
    for name in training_code():
        h.update(name.encode() + b"\0" + (code_graph.ROOT / name).read_bytes())
    return h.hexdigest()


def run_key(params: Params, data_hash: str) -> str:
    """Training identity (model, result-relevant train keys, code, data): equal keys resume."""
    # The preset's name is not identity: its values are (already folded into model and train).
    model = params.model.model_dump(exclude={"preset"})
    train = params.train.model_dump(exclude=BOOKKEEPING)
    blob = json.dumps([model, train, code_hash()], sort_keys=True)
    return f"{hashlib.sha256(blob.encode()).hexdigest()[:10]}-{data_hash[:8]}"

"""Register stage: log the generator as an MLflow pyfunc, register a version, gate `champion`.

Order matters for safety: the version is created and fully tagged first; moving an alias is the
single last write, so a failure anywhere before it leaves the champion untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

import ganmodels
from ganmodels.safeload import load_state
from pipeline import kinds, paths
from pipeline.access import may_move_champion
from pipeline.champion_history import record_move
from pipeline.config import Params, RegisterConfig, load_params
from pipeline.gate import CHALLENGER, CHAMPION, gate
from pipeline.integrity import recorded_tags
from pipeline.lineage import git_tags
from pipeline.registry_lock import promotion_lock
from pipeline.tracking import (
    active_tracking,
    client,
    summary_metrics,
    tracking_uri,
)
from pipeline.version_summary import markdown

# Tag on a champion naming the champion it replaced ("" for the first): what rollback restores.
PREVIOUS_TAG = "previous_champion"
# Progress bars for a few kilobytes of artifacts only clutter the stage's output.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
SERVING = Path(__file__).with_name("serving.py")


@dataclass(frozen=True)
class Decision:
    """Outcome of the promotion gate (written to metrics/register.json)."""

    model_name: str
    version: int
    alias: str
    primary_metric: str
    value: float
    champion_before: int | None
    champion_value_before: float | None
    reason: str
    model_uri: str


def tagged_metric(
    tags: dict[str, str], metric: str, older: str | None = None
) -> tuple[str, float] | None:
    """(key, value) of metric among a version's tags, else of `older`, the source-named key of
    the same quantity (fd_digits for fd: a version registered before `fd` has only that)."""
    for key in (metric, older):
        if key and f"metric.{key}" in tags:
            return key, float(tags[f"metric.{key}"])
    return None


def current_champion(
    cli: MlflowClient, name: str, metric: str, older: str | None = None
) -> tuple[int | None, float | None, str]:
    """(version, value, key compared) of the champion; (None, None, metric) when there is none,
    and a value of None when the champion carries neither metric nor `older`."""
    try:
        mv = cli.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        # Only "no such model/alias" means no champion; an unreachable or locked store must not
        # look like one, or a worse model would take the alias.
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None, None, metric
        raise
    found = tagged_metric(mv.tags, metric, older)
    if found is None:
        return int(mv.version), None, metric
    key, value = found
    return int(mv.version), value, key


def incomparable(name: str, champion: int, metric: str, older: str | None, version: int) -> str:
    """Why a champion cannot be compared, and what to do instead (the gate's reason)."""
    keys = repr(metric) + (f" nor {older!r}" if older else "")
    return (
        f"champion v{champion} of {name} has no {keys} to compare against (registered with "
        f"another register.primary_metric or feature space): v{version} stays challenger; "
        f"compare them with `gan review`, then `gan promote {version} --reason ...`"
    )


def _log_version(
    cli: MlflowClient, name: str, run_id: str, generator: Path, tags: dict[str, str]
) -> Any:
    """Log the generator as a pyfunc of its kind's signature to the run; register a version."""
    state = load_state(generator, "generator file")
    kind = kinds.for_generator(state, f"generator file {generator}")
    signature, example = kind.signature(state)
    with active_tracking(cli.tracking_uri), mlflow.start_run(run_id=run_id):
        info = mlflow.pyfunc.log_model(
            name="generator",
            python_model=str(SERVING),
            artifacts={"generator": str(generator)},
            code_paths=[str(Path(ganmodels.__file__).parent)],
            signature=signature,
            # Logging runs this example through the model: a broken contract fails here.
            input_example=pd.DataFrame(example),
            pip_requirements=["mlflow", "torch", "numpy", "pandas"],
            metadata={kinds.KIND_METADATA: kind.name},  # what `gan sample` writes from its output
        )
    with active_tracking(cli.tracking_uri):
        # The kind as a tag too: `gan review` reads its metric directions without the model.
        # The files' digests as the store holds them: what loading checks (integrity.py).
        tags = {**tags, kinds.KIND_METADATA: kind.name, **recorded_tags(info.model_uri)}
        return mlflow.register_model(info.model_uri, name, tags=tags)


def _verdict(
    cfg: RegisterConfig,
    value: float,
    champion: int | None,
    champion_value: float | None,
    key: str,
    older: str | None,
    version: str | int,
) -> tuple[bool, str]:
    """The gate's decision and reason, for a champion that can or cannot be compared."""
    if champion is not None and champion_value is None:
        return False, incomparable(
            cfg.model_name, champion, cfg.primary_metric, older, int(version)
        )
    promote, reason = gate(value, champion_value, cfg)
    if key != cfg.primary_metric:
        reason += f" (its {key}: the same quantity, registered before {cfg.primary_metric})"
    return promote, reason


def register(
    cli: MlflowClient,
    cfg: RegisterConfig,
    run_id: str,
    generator: Path,
    eval_metrics: dict[str, Any],
    tags: dict[str, str],
    older: str | None = None,
    headline: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> Decision:
    """Log + register the model, then move exactly one alias according to the gate; `older`
    names the source-named key of the primary metric, compared on a champion that lacks it;
    `headline` lists the metrics the version's description shows (the kind's review_metrics)."""
    if cfg.primary_metric not in eval_metrics:
        raise ValueError(
            f"register.primary_metric {cfg.primary_metric!r} is not in metrics/eval.json "
            f"(has: {', '.join(sorted(eval_metrics))})"
        )
    value = float(eval_metrics[cfg.primary_metric])
    version_tags = {
        **tags,
        "primary_metric": cfg.primary_metric,
        **{f"metric.{k}": str(v) for k, v in summary_metrics(eval_metrics).items()},
        "sample_grid": f"runs:/{run_id}/eval/samples.png",
    }
    mv = _log_version(cli, cfg.model_name, run_id, generator, version_tags)
    # Read, gate and move under the lock: a racing registration cannot slip in between.
    with promotion_lock(cli, cfg.model_name):
        champ_version, champ_value, key = current_champion(
            cli, cfg.model_name, cfg.primary_metric, older
        )
        promote, reason = _verdict(cfg, value, champ_version, champ_value, key, older, mv.version)
        allowed, why_not = may_move_champion(cli.tracking_uri, cfg.model_name)
        if promote and not allowed:  # the gate passed; a reviewer moves @champion
            promote, reason = False, f"{reason}; left @challenger: {why_not}"
        if promote:
            previous = "" if champ_version is None else str(champ_version)
            cli.set_model_version_tag(cfg.model_name, mv.version, PREVIOUS_TAG, previous)
        alias = CHAMPION if promote else CHALLENGER
        for key, text in (("gate.verdict", alias), ("gate.reason", reason)):
            cli.set_model_version_tag(cfg.model_name, mv.version, key, text)
        flat = summary_metrics(eval_metrics)
        summary = markdown(run_id, cfg.primary_metric, value, cfg.higher_is_better, alias, reason,
                           flat, headline)  # fmt: skip
        cli.update_model_version(cfg.model_name, mv.version, description=summary)
        cli.set_registered_model_alias(cfg.model_name, alias, mv.version)  # the committing write
        if promote:  # the record of a move that happened
            record_move(cli, cfg.model_name, int(mv.version), champ_version, "gate", reason)
    return Decision(
        model_name=cfg.model_name,
        version=int(mv.version),
        alias=alias,
        primary_metric=cfg.primary_metric,
        value=value,
        champion_before=champ_version,
        champion_value_before=champ_value,
        reason=reason,
        model_uri=f"models:/{cfg.model_name}@{alias}",
    )


def log_review(cli: MlflowClient, params: Params, decision: Decision) -> str:
    """The review page of this registration (the champion it was gated against vs the new
    version, or the new one alone) logged to its run and linked from its description, so a
    reviewer who opens only MLflow's UI sees it; returns its runs:/ URI."""
    from pipeline.review import compare, page  # the review's plotting loads only here

    version = str(decision.version)
    before = decision.champion_before
    against = str(before) if before is not None and str(before) != version else version
    comparison, kind = compare(cli, params, against, version)
    with tempfile.TemporaryDirectory() as tmp:
        uri = page(cli, comparison, kind, Path(tmp) / "review.html")
    mv = cli.get_model_version(decision.model_name, version)
    described = f"{mv.description}\n\nReview page: `{uri}`"
    cli.update_model_version(decision.model_name, version, description=described)
    return uri


def main(params_path: str = str(paths.PARAMS)) -> None:
    """DVC entry point: generator + eval metrics -> registered version + metrics/register.json."""
    params = load_params(params_path)
    root = paths.project_root()
    # The generator file carries its data hash and shape: no other stage's outputs are needed.
    state = load_state(paths.GENERATOR, "generator file")
    eval_metrics = json.loads((paths.METRICS / "eval.json").read_text())
    run = json.loads(paths.TRAIN_RUN.read_text())
    tags = {
        **git_tags(root),
        "params_hash": run["params_hash"],  # of the training params (model + train)
        "data_hash": state["data_hash"],
        "run_key": run["run_key"],
    }
    d, cfg = params.data, params.register
    kind = kinds.for_generator(state, f"generator file {paths.GENERATOR}")
    older = kind.older_metric(cfg.primary_metric, d.source, params.evaluate.feature_extractor)
    tags["sample_seed"] = str(params.evaluate.seed)  # both grids of a review: same seed?
    cli = client(tracking_uri(root))
    decision = register(
        cli,
        cfg,
        run["run_id"],
        paths.GENERATOR,
        eval_metrics,
        tags,
        older,
        kind.review_metrics(),
    )
    out = {**asdict(decision), "became_champion": decision.alias == CHAMPION, "kind": kind.name}
    paths.write_json(paths.METRICS / "register.json", out)
    print(
        f"register: {decision.model_name} v{decision.version} -> @{decision.alias} "
        f"({decision.reason})",
        flush=True,
    )
    try:
        print(f"register: review page {log_review(cli, params, decision)}", flush=True)
    except Exception as exc:  # the version is registered and gated: say so, do not undo it
        print(f"register: warning: no review page for v{decision.version}: {exc!r}", flush=True)

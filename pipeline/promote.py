"""`gan promote` and `gan rollback`: a reviewer moves `champion`, with the why on record.

Every move of `champion` tags the newly promoted version with the previous champion, so a rollback
can always restore it. As in the automatic gate, the alias move is the last write.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.tracking import MlflowClient

from pipeline import kinds, paths
from pipeline.access import caller, may_move_champion
from pipeline.champion_history import now, record_move
from pipeline.config import RegisterConfig, load_params
from pipeline.errors import PipelineError
from pipeline.register import CHALLENGER, CHAMPION, PREVIOUS_TAG, current_champion, tagged_metric
from pipeline.registry_lock import promotion_lock
from pipeline.tracking import client, tracking_uri


@dataclass(frozen=True)
class Move:
    """One change of the champion alias."""

    model_name: str
    version: int
    previous: int | None


def _metric(
    cli: MlflowClient, name: str, version: int, metric: str, older: str | None
) -> float | None:
    """The version's metric (or its older source-named key), None when it has neither."""
    found = tagged_metric(cli.get_model_version(name, str(version)).tags, metric, older)
    return None if found is None else found[1]


def _move(
    cli: MlflowClient, name: str, version: int, previous: int | None, tags: dict[str, str]
) -> Move:
    allowed, why_not = may_move_champion(cli.tracking_uri, name)
    if not allowed:  # before any write: nothing changes
        raise PipelineError(f"@champion of {name} not moved to v{version}: {why_not}")
    record = {"promoted_at": now(), "promoted_by": caller(cli.tracking_uri), **tags}
    for key, value in record.items():
        cli.set_model_version_tag(name, str(version), key, value)
    aliases = cli.get_registered_model(name).aliases
    cli.set_registered_model_alias(name, CHAMPION, str(version))  # the committing write
    if str(aliases.get(CHALLENGER)) == str(version):
        cli.delete_registered_model_alias(name, CHALLENGER)  # it is no longer challenging
    record_move(cli, name, version, previous, tags["promotion"], tags["promotion_reason"])
    return Move(name, version, previous)


def promote(
    cli: MlflowClient,
    cfg: RegisterConfig,
    version: int,
    reason: str,
    force: bool = False,
    older: str | None = None,
) -> Move:
    """Make `version` champion; refuses a version worse than the champion unless force (a
    champion without the metric, nor `older`, its source-named key, is not compared)."""
    if not reason.strip():
        raise ValueError("a promotion needs --reason: it is recorded on the version")
    name = cfg.model_name
    try:
        cli.get_model_version(name, str(version))
    except Exception as exc:
        raise ValueError(f"model {name!r} has no version {version}") from exc
    champ, champ_value, _ = current_champion(cli, name, cfg.primary_metric, older)
    if champ == version:
        raise ValueError(f"v{version} of {name} is already the champion")
    value = _metric(cli, name, version, cfg.primary_metric, older)
    if champ_value is not None and not force:
        worse = value is None or (
            value < champ_value if cfg.higher_is_better else value > champ_value
        )
        if worse:
            shown = "no value" if value is None else f"{value:.4g}"
            raise PipelineError(
                f"v{version} has {cfg.primary_metric} {shown}, worse than champion v{champ}'s "
                f"{champ_value:.4g}: pass --force to promote it anyway"
            )
    tags = {
        "promotion_reason": reason,
        "promotion": "forced" if force else "manual",
        PREVIOUS_TAG: "" if champ is None else str(champ),
    }
    return _move(cli, name, version, champ, tags)


def rollback(cli: MlflowClient, cfg: RegisterConfig, reason: str) -> Move:
    """Restore the champion that the current one replaced."""
    name = cfg.model_name
    champ, _, _ = current_champion(cli, name, cfg.primary_metric)
    if champ is None:
        raise ValueError(f"{name} has no champion to roll back")
    previous = cli.get_model_version(name, str(champ)).tags.get(PREVIOUS_TAG, "")
    if not previous:
        raise ValueError(f"champion v{champ} of {name} replaced no earlier champion")
    # The restored version keeps its own previous_champion: rollbacks walk back the history.
    tags = {
        "promotion_reason": reason or f"rollback from v{champ}",
        "promotion": "rollback",
        "rolled_back_from": str(champ),
    }
    return _move(cli, name, int(previous), champ, tags)


def main(action: str, version: int | None, reason: str, force: bool, params_path: str) -> None:
    """CLI entry: promote VERSION or roll back, on the configured registry."""
    params = load_params(params_path)
    cfg, d = params.register, params.data
    kind = kinds.get(d.kind)
    older = kind.older_metric(cfg.primary_metric, d.source, params.evaluate.feature_extractor)
    cli = client(tracking_uri(paths.project_root()))
    allowed, why_not = may_move_champion(cli.tracking_uri, cfg.model_name)
    if not allowed:  # said before the lock is even taken; _move asks again under it
        to = f" to v{version}" if action == "promote" else ""
        raise PipelineError(f"@champion of {cfg.model_name} not moved{to}: {why_not}")
    with promotion_lock(cli, cfg.model_name):  # no registration moves champion meanwhile
        if action == "promote":
            assert version is not None
            move = promote(cli, cfg, version, reason, force, older)
        else:
            move = rollback(cli, cfg, reason)
    was = "none" if move.previous is None else f"v{move.previous}"
    print(f"{action}: {move.model_name} @champion -> v{move.version} (was {was})")

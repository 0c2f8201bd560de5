"""The champion alias's history: every move (the gate, a promotion, a rollback) appended as a
tag of the registered model, so who moved it, when and why outlives later moves (a version's
own promotion tags are overwritten when it is promoted again)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from mlflow.tracking import MlflowClient

from pipeline.access import caller

PREFIX = "champion_history."


@dataclass(frozen=True)
class ChampionMove:
    """One move of @champion."""

    seq: int
    version: int
    previous: int | None
    how: str  # gate | manual | forced | rollback
    by: str
    at: str  # ISO 8601, UTC
    why: str


def now() -> str:
    """The time of a move, as recorded (UTC, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def history(cli: MlflowClient, name: str) -> list[ChampionMove]:
    """Every recorded move of the model's @champion, oldest first (for a registry from before
    the record: each version's last move, read back from its promotion tags)."""
    tags = cli.get_registered_model(name).tags
    moves = [ChampionMove(**json.loads(v)) for k, v in tags.items() if k.startswith(PREFIX)]
    return sorted(moves, key=lambda m: m.seq) if moves else _from_version_tags(cli, name)


def _from_version_tags(cli: MlflowClient, name: str) -> list[ChampionMove]:
    found = []
    for mv in cli.search_model_versions(f"name = '{name}'"):
        t = mv.tags
        if "promoted_at" not in t and "previous_champion" not in t:
            continue  # never champion
        created = datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc)
        at = t.get("promoted_at") or created.isoformat(timespec="seconds")
        previous = t.get("rolled_back_from") or t.get("previous_champion") or None
        how = t.get("promotion", "gate")
        why = t.get("promotion_reason") or t.get("gate.reason") or "registered by the gate"
        found.append((at, int(mv.version), previous, how, t.get("promoted_by", "-"), why))
    return [
        ChampionMove(i, v, int(prev) if prev else None, how, by, at, why)
        for i, (at, v, prev, how, by, why) in enumerate(sorted(found), 1)
    ]


def record_move(
    cli: MlflowClient, name: str, version: int, previous: int | None, how: str, why: str
) -> ChampionMove:
    """Append a move (call under the promotion lock: the sequence number is read, then set)."""
    seq = max((m.seq for m in history(cli, name)), default=0) + 1
    by = caller(cli.tracking_uri)  # the server's authenticated user where it has users
    move = ChampionMove(seq, int(version), previous, how, by, now(), why)
    cli.set_registered_model_tag(name, f"{PREFIX}{seq:05d}", json.dumps(asdict(move)))
    return move

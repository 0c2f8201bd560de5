"""`gan models`: every registered version of a model, best first by its promotion metric, with
aliases, date and headline metrics, then who moved @champion, when and why."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from mlflow.tracking import MlflowClient

from pipeline import kinds, paths
from pipeline.champion_history import ChampionMove, history
from pipeline.comparison import alias_text, fmt_value, metrics_of
from pipeline.config import load_params
from pipeline.metric_names import Direction
from pipeline.tracking import client, tracking_uri


@dataclass(frozen=True)
class VersionRow:
    """One registered version as `gan models` lists it."""

    version: int
    aliases: str
    created: str
    value: float | None  # of the promotion metric
    headline: dict[str, float]


@dataclass(frozen=True)
class Listing:
    """All versions of a model and its champion history."""

    name: str
    metric: str
    direction: Direction
    columns: list[str]
    rows: list[VersionRow]
    moves: list[ChampionMove]


def listing(
    cli: MlflowClient,
    name: str,
    metric: str,
    direction: Callable[[str], Direction],
    headline: tuple[tuple[str, tuple[str, ...]], ...],
) -> Listing:
    """The versions sorted by `metric` (best first, those without it last) and the history."""
    versions = cli.search_model_versions(f"name = '{name}'")
    if not versions:
        raise ValueError(f"no registered versions of {name!r} (run `dvc repro` first)")
    aliases = cli.get_registered_model(name).aliases
    way = direction(metric)
    rows = []
    for mv in versions:
        values = metrics_of(mv)
        created = datetime.fromtimestamp(mv.creation_timestamp / 1000, timezone.utc)
        rows.append(
            VersionRow(
                int(mv.version),
                alias_text(aliases, mv.version),
                created.strftime("%Y-%m-%d %H:%M"),
                values.get(metric),
                {k: values[k] for k, _ in headline if k in values and k != metric},
            )
        )
    sign = 1 if way == "lower" else -1
    rows.sort(key=lambda r: (r.value is None, sign * (r.value or 0.0), -r.version))
    columns = [k for k, _ in headline if k != metric and any(k in r.headline for r in rows)]
    return Listing(name, metric, way, columns, rows, history(cli, name))


def _move_line(m: ChampionMove) -> str:
    was = "none" if m.previous is None else f"v{m.previous}"
    return f"{m.at}  v{m.version} (was {was})  {m.how} by {m.by}: {m.why}"


def render_text(lst: Listing) -> str:
    """The versions as a table, then the champion's history, newest first."""
    cols = [lst.metric, *lst.columns]
    lines = [
        f"{lst.name}: {len(lst.rows)} version(s), best first by {lst.metric} "
        f"({lst.direction or 'no direction'} is better)",
        f"{'version':>8}  {'aliases':<22} {'registered':<17}"
        + "".join(f"{c[:14]:>16}" for c in cols),
    ]
    for r in lst.rows:
        values = [r.value, *(r.headline.get(c) for c in lst.columns)]
        lines.append(
            f"{'v' + str(r.version):>8}  {r.aliases or '-':<22} {r.created:<17}"
            + "".join(f"{fmt_value(v):>16}" for v in values)
        )
    lines += ["", "@champion history (newest first):"]
    lines += [f"  {_move_line(m)}" for m in reversed(lst.moves)] or ["  no recorded moves"]
    return "\n".join(lines)


def render_html(lst: Listing) -> str:
    """The same, as a section of the review page."""
    e = html.escape
    cols = [lst.metric, *lst.columns]
    head = "".join(f"<th>{e(c)}</th>" for c in cols)
    body = "".join(
        f"<tr><td>v{r.version}</td><td>{e(r.aliases or '-')}</td><td>{e(r.created)}</td>"
        + "".join(
            f"<td class='num'>{fmt_value(v)}</td>"
            for v in (r.value, *(r.headline.get(c) for c in lst.columns))
        )
        + "</tr>"
        for r in lst.rows
    )
    moves = "".join(f"<li>{e(_move_line(m))}</li>" for m in reversed(lst.moves))
    return (
        f"<h2 id='versions'>All versions <small>best first by {e(lst.metric)}</small></h2>"
        f"<table><tr><th>version</th><th>aliases</th><th>registered</th>{head}</tr>{body}</table>"
        f"<h2>@champion history</h2><ul>{moves or '<li>no recorded moves</li>'}</ul>"
    )


def main(params_path: str) -> None:
    """CLI entry: list the configured model's versions and champion history."""
    params = load_params(params_path)
    cfg = params.register
    cli = client(tracking_uri(paths.project_root()))
    kind = kinds.get(params.data.kind)
    print(render_text(listing(cli, cfg.model_name, cfg.primary_metric, kind.direction,
                              kind.review_metrics())))  # fmt: skip

"""Two registered versions side by side, decision first: the promotion metric and the gate's
verdict, the kind's headline metrics, grouped rows (per class, per column), then every other
metric, the params that differ and the lineage; what `gan review` prints and its page shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline.config import RegisterConfig
from pipeline.gate import gate
from pipeline.metric_names import Direction

LINEAGE = ("data_hash", "git_commit", "git_changes", "params_hash", "run_key", "sample_seed")
MIN_GROUP = 4  # a prefix with at least this many keys (per_class.3.fd ...) becomes a table


def resolve(cli: MlflowClient, name: str, ref: str) -> ModelVersion:
    """A version from '3', 'v3' or '@alias'."""
    try:
        if ref.startswith("@"):
            return cli.get_model_version_by_alias(name, ref[1:])
        return cli.get_model_version(name, ref.removeprefix("v"))
    except MlflowException as exc:
        raise ValueError(f"model {name!r} has no version {ref!r}") from exc


def default_pair(cli: MlflowClient, name: str) -> tuple[ModelVersion, ModelVersion]:
    """Champion (else the oldest) vs challenger (else the newest other); (v, v) with one."""
    versions = sorted(
        cli.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version), reverse=True
    )
    if not versions:
        raise ValueError(f"no registered versions of {name!r} (run `dvc repro` first)")
    aliases = cli.get_registered_model(name).aliases
    by_version = {str(v.version): v for v in versions}
    a = by_version.get(str(aliases.get("champion")), versions[-1])
    b = by_version.get(str(aliases.get("challenger")))
    if b is None or b.version == a.version:
        others = [v for v in versions if v.version != a.version]
        b = others[0] if others else a
    return a, b


def metrics_of(mv: ModelVersion) -> dict[str, float]:
    """The eval metrics a version was registered with (its metric.* tags)."""
    return {k[len("metric.") :]: float(v) for k, v in mv.tags.items() if k.startswith("metric.")}


def alias_text(aliases: dict[str, str], version: str | int) -> str:
    """'@champion' (or '@a,@b') for the version out of a registered model's alias map; '-'."""
    return ",".join(f"@{a}" for a, v in sorted(aliases.items()) if str(v) == str(version)) or "-"


def _aliases(cli: MlflowClient, mv: ModelVersion) -> str:
    # Search results do not always carry aliases: the registered model's map is authoritative.
    return alias_text(cli.get_registered_model(mv.name).aliases, mv.version)


@dataclass(frozen=True)
class MetricRow:
    """One metric of both versions; better is 'A', 'B' or '' (tie or no direction)."""

    key: str
    a: float | None
    b: float | None
    better: str
    direction: Direction = None
    reference: str = ""  # what to read it against (real-data floor, trivial baseline), of A

    @property
    def delta(self) -> float | None:
        """B - A, when both exist."""
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class Verdict:
    """The promotion metric of both versions and what the gate says of B against A."""

    metric: str
    direction: Direction
    a: float | None
    b: float | None
    would_promote: bool | None  # under today's register.min_improvement; None: not comparable
    reason: str
    recorded: str  # what happened to B: its gate at registration and any move since

    @property
    def change(self) -> float | None:
        """(B - A) / |A|, when both exist and A is not 0."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return (self.b - self.a) / abs(self.a)


@dataclass(frozen=True)
class Group:
    """Rows keyed prefix.<id>.<metric> (per_class.3.fd) as one table: ids x metrics."""

    prefix: str
    ids: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], MetricRow]


@dataclass(frozen=True)
class Comparison:
    """Everything a reviewer sees about two versions, for the text and HTML renderers."""

    name: str
    a: ModelVersion
    b: ModelVersion
    aliases: tuple[str, str]
    verdict: Verdict
    headline: list[MetricRow]
    groups: list[Group]
    metrics: list[MetricRow]  # everything else
    params_diff: list[tuple[str, str, str]]
    lineage: list[tuple[str, str, str]]

    @property
    def single(self) -> bool:
        """Only one version to show (a model with one registered version)."""
        return str(self.a.version) == str(self.b.version)


def _row(key: str, ma: dict, mb: dict, direction: Callable[[str], Direction]) -> MetricRow:
    va, vb = ma.get(key), mb.get(key)
    way = direction(key)
    better = ""
    if va is not None and vb is not None and way is not None and va != vb:
        better = "B" if (vb > va) == (way == "higher") else "A"
    return MetricRow(key, va, vb, better, way)


def _group_key(key: str) -> tuple[str, str, str] | None:
    """(prefix, id, metric) of per_class.3.fd or column_detection.age (metric 'value')."""
    parts = key.split(".")
    if len(parts) < 2:
        return None
    if len(parts) == 2:
        return parts[0], parts[1], "value"
    return parts[0], ".".join(parts[1:-1]), parts[-1]


def _groups(
    keys: list[str], rows: dict[str, MetricRow], head: set[str]
) -> tuple[list[Group], set[str]]:
    """Tables of the prefixes with many keys, except those holding a headline metric (dcr.*
    beside dcr.ratio): those are a score's parts, not a list of classes or columns."""
    headed = {k.split(".")[0] for k in head if "." in k}
    by_prefix: dict[str, list[tuple[str, str, str]]] = {}
    for key in keys:
        if (found := _group_key(key)) is not None:
            by_prefix.setdefault(found[0], []).append((key, found[1], found[2]))
    groups, used = [], set()
    for prefix, members in sorted(by_prefix.items()):
        if len(members) < MIN_GROUP or prefix in headed:
            continue
        ids = sorted({i for _, i, _ in members}, key=lambda s: (not s.isdigit(), len(s), s))
        columns = sorted({m for _, _, m in members})
        cells = {(i, m): rows[k] for k, i, m in members}
        groups.append(Group(prefix, ids, columns, cells))
        used |= {k for k, _, _ in members}
    return groups, used


def _recorded(b: ModelVersion, aliases: str) -> str:
    """What happened to B: the alias it holds now, what the gate made it at registration and
    any move by hand since."""
    verdict, reason = b.tags.get("gate.verdict"), b.tags.get("gate.reason")
    if verdict:
        said = f"at registration the gate made it @{verdict} ({reason})"
    else:
        said = f"at registration: {reason}" if reason else "no gate recorded at registration"
    how, why = b.tags.get("promotion"), b.tags.get("promotion_reason")
    moved = f"; moved by hand since ({how}): {why}" if how and why else ""
    now = f"holds {aliases}" if aliases != "-" else "holds no alias now"
    return f"v{b.version} {now}; {said}{moved}"


def _verdict(
    cli: MlflowClient,
    c: tuple[ModelVersion, ModelVersion, str],
    ma: dict,
    mb: dict,
    cfg: RegisterConfig,
    direction: Callable[[str], Direction],
) -> Verdict:
    a, b, aliases_b = c
    metric = b.tags.get("primary_metric") or a.tags.get("primary_metric") or cfg.primary_metric
    va, vb = ma.get(metric), mb.get(metric)
    way = direction(metric)
    if va is None or vb is None or way is None:
        would, reason = None, f"{metric} is missing from a version: not comparable"
    else:
        rule = cfg.model_copy(
            update={"primary_metric": metric, "higher_is_better": way == "higher"}
        )
        would, reason = gate(vb, va, rule)
    return Verdict(metric, way, va, vb, would, reason, _recorded(b, aliases_b))


def build(
    cli: MlflowClient,
    a: ModelVersion,
    b: ModelVersion,
    direction: Callable[[str], Direction],
    cfg: RegisterConfig,
    headline: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> Comparison:
    """Collect the verdict (B against A under cfg's gate), the `headline` metrics (each with
    the reference keys to read it against), grouped rows, the rest, params and lineage."""
    ma, mb = metrics_of(a), metrics_of(b)
    aliases = (_aliases(cli, a), _aliases(cli, b))
    verdict = _verdict(cli, (a, b, aliases[1]), ma, mb, cfg, direction)
    keys = sorted(set(ma) | set(mb))
    rows = {k: _row(k, ma, mb, direction) for k in keys}
    head = []
    refs_of = dict(headline)
    for key, refs in ((verdict.metric, refs_of.get(verdict.metric, ())), *headline):
        if key in rows and all(h.key != key for h in head):
            shown = ", ".join(f"{r} {ma[r]:.4g}" for r in refs if r in ma)
            r = rows[key]
            head.append(MetricRow(r.key, r.a, r.b, r.better, r.direction, shown))
    headed = {h.key for h in head}
    groups, grouped = _groups([k for k in keys if k not in headed], rows, headed)
    rest = [rows[k] for k in keys if k not in grouped and k not in headed]
    pa, pb = (cli.get_run(v.run_id).data.params if v.run_id else {} for v in (a, b))
    diff = [
        (k, pa.get(k, "-"), pb.get(k, "-"))
        for k in sorted(set(pa) | set(pb))
        if pa.get(k) != pb.get(k)
    ]
    lineage = [(t, a.tags.get(t, "-"), b.tags.get(t, "-")) for t in LINEAGE]
    return Comparison(a.name, a, b, aliases, verdict, head, groups, rest, diff, lineage)


def fmt_value(v: float | None) -> str:
    """A metric value for a table cell ('-' when absent)."""
    return "-" if v is None else f"{v:.4g}"

"""Two registered versions side by side: their metrics (with the better side), the params
that differ and their lineage; what `gan review` prints and its HTML page shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline.metric_names import Direction


def resolve(cli: MlflowClient, name: str, ref: str) -> ModelVersion:
    """A version from '3', 'v3' or '@alias'."""
    try:
        if ref.startswith("@"):
            return cli.get_model_version_by_alias(name, ref[1:])
        return cli.get_model_version(name, ref.removeprefix("v"))
    except MlflowException as exc:
        raise ValueError(f"model {name!r} has no version {ref!r}") from exc


def default_pair(cli: MlflowClient, name: str) -> tuple[ModelVersion, ModelVersion]:
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


def _metrics(mv: ModelVersion) -> dict[str, float]:
    return {k[len("metric.") :]: float(v) for k, v in mv.tags.items() if k.startswith("metric.")}


def _aliases(cli: MlflowClient, mv: ModelVersion) -> str:
    # Search results do not always carry aliases: the registered model's map is authoritative.
    aliases = cli.get_registered_model(mv.name).aliases
    return ",".join(f"@{a}" for a, v in sorted(aliases.items()) if str(v) == str(mv.version)) or "-"


@dataclass(frozen=True)
class MetricRow:
    """One metric of both versions; better is 'A', 'B' or '' (tie or no direction)."""

    key: str
    a: float | None
    b: float | None
    better: str

    @property
    def delta(self) -> float | None:
        """B - A, when both exist."""
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class Comparison:
    """Everything a reviewer sees about two versions, for the text and HTML renderers."""

    name: str
    a: ModelVersion
    b: ModelVersion
    aliases: tuple[str, str]
    metrics: list[MetricRow]
    params_diff: list[tuple[str, str, str]]
    lineage: list[tuple[str, str, str]]


def build(
    cli: MlflowClient, a: ModelVersion, b: ModelVersion, direction: Callable[[str], Direction]
) -> Comparison:
    """Collect metrics (with the better side, by the kind's `direction`), differing params and
    lineage tags."""
    ma, mb = _metrics(a), _metrics(b)
    rows = []
    for key in sorted(set(ma) | set(mb)):
        va, vb = ma.get(key), mb.get(key)
        way = direction(key)
        better = ""
        if va is not None and vb is not None and way is not None and va != vb:
            better = "B" if (vb > va) == (way == "higher") else "A"
        rows.append(MetricRow(key, va, vb, better))
    pa, pb = (cli.get_run(v.run_id).data.params if v.run_id else {} for v in (a, b))
    diff = [
        (k, pa.get(k, "-"), pb.get(k, "-"))
        for k in sorted(set(pa) | set(pb))
        if pa.get(k) != pb.get(k)
    ]
    lineage = [
        (t, a.tags.get(t, "-"), b.tags.get(t, "-"))
        for t in ("data_hash", "git_commit", "params_hash", "run_key")
    ]
    return Comparison(a.name, a, b, (_aliases(cli, a), _aliases(cli, b)), rows, diff, lineage)


def fmt_value(v: float | None) -> str:
    """A metric value for a table cell ('-' when absent)."""
    return "-" if v is None else f"{v:.4g}"

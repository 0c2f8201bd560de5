"""`gan review` (two registered versions side by side) and `gan summary` (the last pipeline run)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline import paths
from pipeline.config import load_params
from pipeline.tracking import client, tracking_uri

# Direction of the metrics the evaluate stage writes (None: informational).
_HIGHER = ("precision", "recall", "class_coverage", "density", "coverage", "accuracy")
_LOWER = ("fid", "kid", "fd")
# Tables: similarity scores rise toward 1; the detection AUC falls toward 0.5 (indistinct).
_TABLE_HIGHER = ("quality_score", "column_shapes", "pair_trends", "f1_synthetic")


def _direction(metric: str) -> bool | None:
    if metric.startswith("per_column.") or metric.split(".")[-1] in _TABLE_HIGHER:
        return True
    if metric == "detection_auc":
        return False
    name = metric.split(".")[-1]  # per_class.3.fd -> fd
    if name.startswith("fd_") and not name.endswith(("_floor", "_ratio")):
        return False
    if name.endswith("_ratio") or name in _LOWER:
        return False
    return True if name in _HIGHER or name.startswith("label_accuracy") else None


def resolve(cli: MlflowClient, name: str, ref: str) -> ModelVersion:
    """A version from '3', 'v3' or '@alias'."""
    try:
        if ref.startswith("@"):
            return cli.get_model_version_by_alias(name, ref[1:])
        return cli.get_model_version(name, ref.removeprefix("v"))
    except MlflowException as exc:
        raise ValueError(f"model {name!r} has no version {ref!r}") from exc


def _default_pair(cli: MlflowClient, name: str) -> tuple[ModelVersion, ModelVersion]:
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


def build(cli: MlflowClient, a: ModelVersion, b: ModelVersion) -> Comparison:
    """Collect metrics (with the better side), differing params and lineage tags."""
    ma, mb = _metrics(a), _metrics(b)
    rows = []
    for key in sorted(set(ma) | set(mb)):
        va, vb = ma.get(key), mb.get(key)
        hib = _direction(key)
        better = ""
        if va is not None and vb is not None and hib is not None and va != vb:
            better = "B" if (vb > va) == hib else "A"
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
    return "-" if v is None else f"{v:.4g}"


def render_text(c: Comparison) -> str:
    """Side-by-side text: metrics with delta and winner, differing params, lineage, grids."""
    w = 24
    lines = [
        f"{'':<{w}} {f'A: v{c.a.version}':>16} {f'B: v{c.b.version}':>16}",
        f"{'aliases':<{w}} {c.aliases[0]:>16} {c.aliases[1]:>16}",
        "",
        f"{'metric':<{w}} {'A':>16} {'B':>16} {'B - A':>10}  better",
    ]
    for r in c.metrics:
        delta = "" if r.delta is None else f"{r.delta:+.4g}"
        lines.append(
            f"{r.key:<{w}} {fmt_value(r.a):>16} {fmt_value(r.b):>16} {delta:>10}  {r.better}"
        )
    lines += ["", "params that differ:" if c.params_diff else "params: identical"]
    lines += [f"  {k:<{w - 2}} {va:>16} {vb:>16}" for k, va, vb in c.params_diff]
    lines.append("")
    for label, ta, tb in c.lineage:
        same = "same" if ta == tb else "differs"
        lines.append(f"{label:<{w}} A {ta[:16]:<16} B {tb[:16]:<16} ({same})")
    lines += ["", "sample grids:"]
    for label, v in (("A", c.a), ("B", c.b)):
        lines.append(f"  {label}: {v.tags.get('sample_grid', '-')} (run {v.run_id})")
    return "\n".join(lines)


def main(ref_a: str | None, ref_b: str | None, params_path: str, html: str | None = None) -> None:
    """Print champion vs challenger (or any two versions); optionally write an HTML page."""
    name = load_params(params_path).register.model_name
    cli = client(tracking_uri(paths.project_root()))
    a, b = _default_pair(cli, name)
    a = resolve(cli, name, ref_a) if ref_a else a
    b = resolve(cli, name, ref_b) if ref_b else b
    comparison = build(cli, a, b)
    print(f"review: {name} (tracking {cli.tracking_uri})\n")
    print(render_text(comparison))
    if html:
        from pipeline.review_html import write_review_page

        where = write_review_page(cli, comparison, Path(html))
        print(f"\nreview page: {html} (logged to v{b.version} as {where})")


def _read(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def summary() -> None:
    """One screen: where the model went, its metrics, whether it became champion."""
    reg, ev, tr = (_read(paths.METRICS / f) for f in ("register.json", "eval.json", "train.json"))
    if not reg:
        raise FileNotFoundError("metrics/register.json: no pipeline run yet (run `dvc repro`)")
    fd = reg["primary_metric"]
    verdict = "became @champion" if reg["became_champion"] else "stays @challenger"
    before = (
        f"v{reg['champion_before']} ({fd} {reg['champion_value_before']:.4g})"
        if reg["champion_before"]
        else "none"
    )
    rows = [
        "=" * 72,
        f" Model     {reg['model_name']} v{reg['version']}  {verdict}",
        f" Gate      {reg['reason']}",
        f" Previous  champion {before}",
        f" Load      mlflow.pyfunc.load_model('{reg['model_uri']}')",
        f" Tracking  {tracking_uri(paths.project_root())}   (browse: mlflow ui)",
        f" Training  {tr.get('step', '?')} steps, {tr.get('wall_time_s', 0):.0f} s, "
        f"{tr.get('perf/samples_per_s', 0):,.0f} samples/s",
        *(_table_quality(ev) if "quality_score" in ev else _image_quality(ev, fd)),
        f" Samples   {paths.SAMPLE_GRID}   curves: dvc plots show",
        "=" * 72,
    ]
    print("\n".join(rows))


def _image_quality(ev: dict[str, Any], fd: str) -> list[str]:
    return [
        f" Quality   {fd} {ev.get(fd, float('nan')):.3f} "
        f"(real-data floor {ev.get(fd + '_floor', float('nan')):.3f})  "
        f"precision {ev.get('precision', 0):.3f}  recall {ev.get('recall', 0):.3f}  "
        f"classes {ev.get('class_coverage', '?')}/{ev.get('num_classes', '?')}",
        f"           KID {ev.get('kid', float('nan')):.4f}  density {ev.get('density', 0):.3f}  "
        f"coverage {ev.get('coverage', 0):.3f}"
        + (
            f"  asked-for label accuracy {ev['label_accuracy']:.3f}"
            if "label_accuracy" in ev
            else ""
        ),
    ]


def _table_quality(ev: dict[str, Any]) -> list[str]:
    efficacy = ev.get("ml_efficacy", {})
    return [
        f" Quality   quality_score {ev['quality_score']:.3f} (real rows "
        f"{ev.get('real_quality_score', float('nan')):.3f})  column shapes "
        f"{ev.get('column_shapes', 0):.3f}  pair trends {ev.get('pair_trends', 0):.3f}",
        f"           detection AUC {ev.get('detection_auc', float('nan')):.3f} (0.5 ideal)"
        + (
            f"  ML efficacy F1 {efficacy['f1_synthetic']:.3f} vs real {efficacy['f1_real']:.3f}"
            if efficacy
            else ""
        )
        + f"  DCR ratio {ev.get('dcr', {}).get('ratio', float('nan')):.2f}",
    ]

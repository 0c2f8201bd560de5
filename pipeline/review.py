"""`gan review` (two registered versions side by side) and `gan summary` (the last pipeline run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

from pipeline import kinds, paths
from pipeline.comparison import Comparison, MetricRow, build, default_pair, fmt_value, resolve
from pipeline.config import Params, load_params
from pipeline.kinds.base import DataKind
from pipeline.review_html import write_review_page
from pipeline.tracking import client, tracking_uri
from pipeline.versions import listing
from pipeline.versions import render_html as render_listing

W = 26  # the key column


def verdict_lines(c: Comparison) -> list[str]:
    """The decision: both versions, the promotion metric, its change and the gate's verdict."""
    v = c.verdict
    if c.single:
        return [
            f"only one version: v{c.a.version} ({c.aliases[0]}), shown alone",
            f"{v.metric} ({v.direction or 'no direction'} is better): {fmt_value(v.a)}",
        ]
    change = "" if v.change is None else f" ({v.change:+.1%})"
    if v.would_promote is None:
        gate = f"gate: {v.reason}"
    else:
        word = "would become" if v.would_promote else "would not become"
        gate = f"gate: B {word} champion ({v.reason})"
    return [
        f"A: v{c.a.version} {c.aliases[0]}    B: v{c.b.version} {c.aliases[1]}",
        f"{v.metric} ({v.direction or 'no direction'} is better): "
        f"A {fmt_value(v.a)}  B {fmt_value(v.b)}{change}",
        gate,
        f"did it: {v.recorded}",
    ]


def _mark(r: MetricRow) -> str:
    """'better'/'worse' of B against A, with the direction."""
    if not r.better:
        return "" if r.direction is None else f"({r.direction} is better)"
    return f"B {'better' if r.better == 'B' else 'worse'} ({r.direction} is better)"


def _rows(rows: list[MetricRow], single: bool) -> list[str]:
    out = []
    for r in rows:
        ref = f"  [{r.reference}]" if r.reference else ""
        if single:
            out.append(f"  {r.key:<{W}} {fmt_value(r.a):>12}{ref}")
            continue
        delta = "" if r.delta is None else f"{r.delta:+.4g}"
        out.append(
            f"  {r.key:<{W}} {fmt_value(r.a):>12} {fmt_value(r.b):>12} {delta:>10}  {_mark(r)}{ref}"
        )
    return out


def render_text(c: Comparison) -> str:
    """Decision first, then headline metrics, grouped rows, the rest, params and lineage."""
    lines = [*verdict_lines(c), ""]
    head = "" if c.single else f" {'B':>12} {'B - A':>10}"
    lines.append(f"  {'headline':<{W}} {'A':>12}{head}")
    lines += _rows(c.headline, c.single)
    for g in c.groups:
        lines += ["", f"  {g.prefix} (A/B; * where B is better, ! where worse):"]
        lines.append(f"  {'':<8}" + "".join(f"{col[:18]:>20}" for col in g.columns))
        for i in g.ids:
            cells = []
            for col in g.columns:
                r = g.cells.get((i, col))
                text = "" if r is None else fmt_value(r.a)
                if r is not None and not c.single:
                    text += "/" + fmt_value(r.b) + {"B": "*", "A": "!"}.get(r.better, "")
                cells.append(f"{text:>20}")
            lines.append(f"  {i[:8]:<8}" + "".join(cells))
    if c.metrics:
        lines += ["", f"  {'other metrics':<{W}}"]
        lines += _rows(c.metrics, c.single)
    if not c.single:
        lines += ["", "params that differ:" if c.params_diff else "params: identical"]
        lines += [f"  {k:<{W}} {va:>16} {vb:>16}" for k, va, vb in c.params_diff]
    lines.append("")
    for label, ta, tb in c.lineage:
        if c.single:
            lines.append(f"{label:<{W}} {ta}")
        else:
            same = "same" if ta == tb else "differs"
            lines.append(f"{label:<{W}} A {ta[:16]:<16} B {tb[:16]:<16} ({same})")
    lines += ["", "sample grids:"]
    for label, v in (("A", c.a),) if c.single else (("A", c.a), ("B", c.b)):
        lines.append(f"  {label}: {v.tags.get('sample_grid', '-')} (run {v.run_id})")
    return "\n".join(lines)


def compare(
    cli: MlflowClient, params: Params, ref_a: str | None = None, ref_b: str | None = None
) -> tuple[Comparison, DataKind]:
    """The comparison of two versions of register.model_name (default: champion vs
    challenger, else the newest other) and the kind whose metrics it reads."""
    name = params.register.model_name
    a, b = default_pair(cli, name)
    a = resolve(cli, name, ref_a) if ref_a else a
    b = resolve(cli, name, ref_b) if ref_b else b
    # Versions registered before their kind was tagged are of the configured data.kind.
    recorded = b.tags.get(kinds.KIND_METADATA) or a.tags.get(kinds.KIND_METADATA)
    kind = kinds.get(recorded or params.data.kind)
    return build(cli, a, b, kind.direction, params.register, kind.review_metrics()), kind


def page(cli: MlflowClient, c: Comparison, kind: DataKind, out: Path) -> str:
    """Write the review page (with every version and the champion's history) to out, log it
    to version B's run; returns its runs:/ URI."""
    versions = listing(cli, c.name, c.verdict.metric, kind.direction, kind.review_metrics())
    return write_review_page(cli, c, out, kind, render_listing(versions))


def main(ref_a: str | None, ref_b: str | None, params_path: str, html: str | None = None) -> None:
    """Print champion vs challenger (or any two versions); optionally write an HTML page."""
    params = load_params(params_path)
    cli = client(tracking_uri(paths.project_root()))
    comparison, kind = compare(cli, params, ref_a, ref_b)
    print(f"review: {comparison.name} (tracking {cli.tracking_uri})\n")
    print(render_text(comparison))
    if html:
        where = page(cli, comparison, kind, Path(html))
        print(f"\nreview page: {html} (logged to v{comparison.b.version} as {where})")


def _read(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def summary(params_path: str = str(paths.PARAMS)) -> None:
    """One screen: where the model went, its metrics, whether it became champion."""
    reg, ev, tr = (_read(paths.METRICS / f) for f in ("register.json", "eval.json", "train.json"))
    if not reg:
        raise FileNotFoundError("metrics/register.json: no pipeline run yet (run `dvc repro`)")
    # The kind register recorded (a register.json written before it did: data.kind's).
    kind = kinds.get(reg.get("kind") or load_params(params_path).data.kind)
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
        f" Load      gan sample --model-uri {reg['model_uri']}  (files checked against "
        "their sha256: pipeline.integrity.load_verified)",
        f" Tracking  {tracking_uri(paths.project_root())}   (browse: mlflow ui)",
        f" Training  {tr.get('step', '?')} steps, {tr.get('wall_time_s', 0):.0f} s, "
        f"{tr.get('perf/samples_per_s', 0):,.0f} samples/s",
        *kind.headline(ev, fd),
        f" Samples   {paths.SAMPLE_GRID}   curves: dvc plots show",
        "=" * 72,
    ]
    print("\n".join(rows))

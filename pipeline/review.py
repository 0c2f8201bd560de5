"""`gan review` (two registered versions side by side) and `gan summary` (the last pipeline run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline import kinds, paths
from pipeline.comparison import Comparison, build, default_pair, fmt_value, resolve
from pipeline.config import load_params
from pipeline.review_html import write_review_page
from pipeline.tracking import client, tracking_uri


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
    params = load_params(params_path)
    name = params.register.model_name
    cli = client(tracking_uri(paths.project_root()))
    a, b = default_pair(cli, name)
    a = resolve(cli, name, ref_a) if ref_a else a
    b = resolve(cli, name, ref_b) if ref_b else b
    # Versions registered before their kind was tagged are of the configured data.kind.
    recorded = b.tags.get(kinds.KIND_METADATA) or a.tags.get(kinds.KIND_METADATA)
    comparison = build(cli, a, b, kinds.get(recorded or params.data.kind).direction)
    print(f"review: {name} (tracking {cli.tracking_uri})\n")
    print(render_text(comparison))
    if html:
        where = write_review_page(cli, comparison, Path(html))
        print(f"\nreview page: {html} (logged to v{b.version} as {where})")


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
        f" Load      mlflow.pyfunc.load_model('{reg['model_uri']}')",
        f" Tracking  {tracking_uri(paths.project_root())}   (browse: mlflow ui)",
        f" Training  {tr.get('step', '?')} steps, {tr.get('wall_time_s', 0):.0f} s, "
        f"{tr.get('perf/samples_per_s', 0):,.0f} samples/s",
        *kind.headline(ev, fd),
        f" Samples   {paths.SAMPLE_GRID}   curves: dvc plots show",
        "=" * 72,
    ]
    print("\n".join(rows))

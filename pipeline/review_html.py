"""`gan review --html`: one self-contained review page (images inline, charts as SVG, no CDN)."""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

import mlflow.artifacts
from mlflow.tracking import MlflowClient

from pipeline.comparison import Comparison, fmt_value

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px}
th{background:#f3f3f3}td.num{text-align:right;font-family:monospace}.better{font-weight:bold}
.grids{display:flex;gap:2em}.grids img{width:320px;image-rendering:pixelated;border:1px solid #999}
"""


def _grid_png(cli: MlflowClient, run_id: str | None) -> bytes | None:
    """The run's evaluation grid, or None when it has none."""
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path="eval/samples.png",
                dst_path=tmp,
                tracking_uri=cli.tracking_uri,
            )
        except Exception:  # a version without a grid still gets reviewed
            return None
        return Path(path).read_bytes()


def _curves_svg(cli: MlflowClient, c: Comparison) -> str:
    """Training losses of both runs as one inline SVG chart."""
    import vl_convert

    values = []
    for label, mv in (("A", c.a), ("B", c.b)):
        if not mv.run_id:
            continue
        for key in ("loss/D_main", "loss/G_main"):
            for m in cli.get_metric_history(mv.run_id, key):
                values.append(
                    {
                        "step": m.step,
                        "loss": m.value,
                        "series": f"{label} v{mv.version} {key.split('/')[-1]}",
                    }
                )
    if not values:
        return "<p>no training curves logged</p>"
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 560,
        "height": 260,
        "data": {"values": values},
        "mark": {"type": "line"},
        "encoding": {
            "x": {"field": "step", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative"},
            "color": {"field": "series", "type": "nominal"},
        },
    }
    return vl_convert.vegalite_to_svg(spec)


def render_html(c: Comparison, grids: dict[str, bytes | None], curves_svg: str) -> str:
    """The page: versions, metrics with delta and winner, params, lineage, grids, curves."""
    e = html.escape
    va, vb = f"v{c.a.version}", f"v{c.b.version}"
    rows = "".join(
        f"<tr><td>{e(r.key)}</td>"
        f"<td class='num{' better' if r.better == 'A' else ''}'>{fmt_value(r.a)}</td>"
        f"<td class='num{' better' if r.better == 'B' else ''}'>{fmt_value(r.b)}</td>"
        f"<td class='num'>{'' if r.delta is None else f'{r.delta:+.4g}'}</td>"
        f"<td>{e(r.better)}</td></tr>"
        for r in c.metrics
    )
    params = (
        "".join(
            f"<tr><td>{e(k)}</td><td>{e(a)}</td><td>{e(b)}</td></tr>" for k, a, b in c.params_diff
        )
        or "<tr><td colspan=3>identical</td></tr>"
    )
    lineage = "".join(
        f"<tr><td>{e(k)}</td><td>{e(a)}</td><td>{e(b)}</td>"
        f"<td>{'same' if a == b else 'differs'}</td></tr>"
        for k, a, b in c.lineage
    )
    figures = []
    for label, ver in (("A", va), ("B", vb)):
        png = grids.get(label)
        img = (
            f"<img alt='samples {label}' src='data:image/png;base64,"
            f"{base64.b64encode(png).decode()}'>"
            if png
            else "<p>no sample grid</p>"
        )
        figures.append(f"<figure>{img}<figcaption>{label}: {ver}</figcaption></figure>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Review {e(c.name)} "
        f"{va} vs {vb}</title><style>{_CSS}</style></head><body>"
        f"<h1>{e(c.name)}: A {va} ({e(c.aliases[0])}) vs B {vb} ({e(c.aliases[1])})</h1>"
        f"<h2>Metrics</h2><table><tr><th>metric</th><th>A</th><th>B</th><th>B - A</th>"
        f"<th>better</th></tr>{rows}</table>"
        f"<h2>Sample grids</h2><div class='grids'>{''.join(figures)}</div>"
        f"<h2>Training curves</h2>{curves_svg}"
        f"<h2>Params that differ</h2><table><tr><th>param</th><th>A</th><th>B</th></tr>"
        f"{params}</table>"
        f"<h2>Lineage</h2><table><tr><th></th><th>A</th><th>B</th><th></th></tr>{lineage}</table>"
        "</body></html>"
    )


def write_review_page(cli: MlflowClient, c: Comparison, out: Path) -> str:
    """Write the page and log it to B's run, tagging version B with its location."""
    grids = {"A": _grid_png(cli, c.a.run_id), "B": _grid_png(cli, c.b.run_id)}
    page = render_html(c, grids, _curves_svg(cli, c))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    artifact = f"reviews/review_v{c.a.version}_vs_v{c.b.version}.html"
    uri = f"runs:/{c.b.run_id}/{artifact}"
    if c.b.run_id:
        cli.log_text(c.b.run_id, page, artifact)
        cli.set_model_version_tag(c.name, str(c.b.version), "review_html", uri)
    return uri

"""`gan review --html`: one self-contained review page (images inline, charts as SVG, no CDN)."""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

import mlflow.artifacts
from mlflow.tracking import MlflowClient

from pipeline.comparison import Comparison, MetricRow, fmt_value
from pipeline.kinds.base import DataKind

_CSS = """
body{font-family:system-ui,sans-serif;margin:12px 24px;color:#222}
h1{font-size:20px;margin:4px 0 8px}h2{font-size:17px;margin:22px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 9px}
th{background:#f3f3f3}td.num{text-align:right;font-family:monospace}
.verdict{border:2px solid #888;border-radius:6px;padding:6px 14px;margin:0 0 10px}
.verdict .metric{font-size:22px}.verdict .gate{font-size:16px;margin-top:4px}
.verdict.yes{border-color:#2a7}.verdict.no{border-color:#c63}
.b-better{color:#176;font-weight:bold}.b-worse{color:#a33;font-weight:bold}
.grids{display:flex;gap:24px;align-items:flex-start}.grids figure{margin:0}
.grids img{height:min(540px,calc(100vh - 250px));min-height:240px;max-width:calc(50vw - 40px);
object-fit:contain;image-rendering:pixelated;border:1px solid #999}
figcaption{font-size:14px;color:#444}img.figure{max-width:100%}
"""


def _artifact(cli: MlflowClient, run_id: str | None, path: str) -> bytes | None:
    """One artifact of the run, or None when it has none."""
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=tmp, tracking_uri=cli.tracking_uri
            )
        except Exception:  # a version without it (older, or failed midway) still gets reviewed
            return None
        return Path(local).read_bytes()


def _texts(cli: MlflowClient, run_id: str | None, names: tuple[str, ...]) -> dict[str, str]:
    found = {name: _artifact(cli, run_id, name) for name in names}
    return {name: data.decode() for name, data in found.items() if data is not None}


def kind_figures(cli: MlflowClient, c: Comparison, kind: DataKind) -> list[tuple[str, bytes]]:
    """The kind's review figures from both versions' evaluation artifacts."""
    a = _texts(cli, c.a.run_id, kind.review_artifacts)
    b = None if c.single else _texts(cli, c.b.run_id, kind.review_artifacts)
    return kind.review_figures(a, b) if a else []


def _curves_svg(cli: MlflowClient, c: Comparison) -> str:
    """Training losses of both runs as one inline SVG chart."""
    import vl_convert

    values = []
    for label, mv in (("A", c.a),) if c.single else (("A", c.a), ("B", c.b)):
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


def _e(text: object) -> str:
    return html.escape(str(text))


def _verdict_html(c: Comparison) -> str:
    """The decision box: both versions' promotion metric, its change, the gate's verdict."""
    v = c.verdict
    way = f"{v.direction} is better" if v.direction else "no direction"
    if c.single:
        return (
            f"<section id='verdict' class='verdict'><div class='metric'>{_e(v.metric)} "
            f"<b id='value-a'>{fmt_value(v.a)}</b> <small>({way})</small></div>"
            f"<div class='gate'>Only one version is registered: v{c.a.version} "
            f"({_e(c.aliases[0])}), shown alone; nothing to compare it with.</div></section>"
        )
    change = "" if v.change is None else f" ({v.change:+.1%})"
    cls = {True: "yes", False: "no", None: ""}[v.would_promote]
    word = {True: "would become", False: "would not become", None: "cannot be gated against"}
    return (
        f"<section id='verdict' class='verdict {cls}'><div class='metric'>{_e(v.metric)}: "
        f"A v{c.a.version} <b id='value-a'>{fmt_value(v.a)}</b> &rarr; B v{c.b.version} "
        f"<b id='value-b'>{fmt_value(v.b)}</b>{change} <small>({way})</small></div>"
        f"<div class='gate'><b>Gate:</b> B {word[v.would_promote]} champion "
        f"({_e(v.reason)})</div><div class='gate'><b>Did it:</b> {_e(v.recorded)}</div>"
        "</section>"
    )


def _grids_html(c: Comparison, grids: dict[str, bytes | None]) -> str:
    seeds = {c.a.tags.get("sample_seed"), c.b.tags.get("sample_seed")}
    figures = []
    shown = (("A", c.a, c.aliases[0]),) if c.single else (("A", c.a, c.aliases[0]),
                                                          ("B", c.b, c.aliases[1]))  # fmt: skip
    for label, mv, aliases in shown:
        png = grids.get(label)
        img = (
            f"<img id='grid-{label.lower()}' alt='samples of {label}' "
            f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
            if png
            else f"<p id='grid-{label.lower()}'>no sample grid</p>"
        )
        seed = mv.tags.get("sample_seed", "?")
        figures.append(
            f"<figure>{img}<figcaption>{label}: v{mv.version} {_e(aliases)}, evaluate.seed "
            f"{_e(seed)}</figcaption></figure>"
        )
    note = "" if len(seeds) == 1 or c.single else "<p>The two grids come from different seeds.</p>"
    return f"<section class='grids'>{''.join(figures)}</section>{note}"


def _cell(r: MetricRow | None, single: bool) -> str:
    if r is None:
        return "<td></td>"
    if single:
        return f"<td class='num'>{fmt_value(r.a)}</td>"
    cls = {"B": " b-better", "A": " b-worse"}.get(r.better, "")
    return f"<td class='num{cls}'>{fmt_value(r.a)} / {fmt_value(r.b)}</td>"


def _rows_html(rows: list[MetricRow], single: bool, table_id: str) -> str:
    head = "<th>A</th>" if single else "<th>A</th><th>B</th><th>B - A</th><th>B is</th>"
    body = []
    for r in rows:
        cells = f"<td class='num'>{fmt_value(r.a)}</td>"
        if not single:
            mark = {"B": ("b-better", "better"), "A": ("b-worse", "worse")}.get(r.better)
            way = f" ({r.direction} is better)" if r.direction else ""
            verdict = f"<span class='{mark[0]}'>{mark[1]}</span>{way}" if mark else way
            delta = "" if r.delta is None else f"{r.delta:+.4g}"
            cells += (
                f"<td class='num'>{fmt_value(r.b)}</td><td class='num'>{delta}</td>"
                f"<td>{verdict}</td>"
            )
        body.append(f"<tr><td>{_e(r.key)}</td>{cells}<td>{_e(r.reference)}</td></tr>")
    return (
        f"<table id='{table_id}'><tr><th>metric</th>{head}<th>read against (A)</th></tr>"
        f"{''.join(body)}</table>"
    )


def _figures_html(figures: list[tuple[str, bytes]]) -> str:
    out = []
    for i, (title, png) in enumerate(figures):
        data = base64.b64encode(png).decode()
        out.append(
            f"<h2>{_e(title)}</h2><img class='figure' id='figure-{i}' alt='{_e(title)}' "
            f"src='data:image/png;base64,{data}'>"
        )
    return "".join(out)


def _groups_html(c: Comparison) -> str:
    out = []
    for g in c.groups:
        cols = "".join(f"<th>{_e(col)}</th>" for col in g.columns)
        rows = "".join(
            f"<tr><td>{_e(i)}</td>"
            + "".join(_cell(g.cells.get((i, col)), c.single) for col in g.columns)
            + "</tr>"
            for i in g.ids
        )
        ab = "A" if c.single else "A / B (green: B better, red: B worse)"
        out.append(
            f"<h2>{_e(g.prefix)} <small>{ab}</small></h2><table class='group'>"
            f"<tr><th></th>{cols}</tr>{rows}</table>"
        )
    return "".join(out)


def render_html(
    c: Comparison,
    grids: dict[str, bytes | None],
    curves_svg: str,
    versions_html: str = "",
    figures: list[tuple[str, bytes]] | None = None,
) -> str:
    """Decision, grids, headline metrics first; grouped rows, the rest, params, lineage below."""
    va, vb = f"v{c.a.version}", f"v{c.b.version}"
    title = f"{va} alone" if c.single else f"A {va} ({c.aliases[0]}) vs B {vb} ({c.aliases[1]})"
    params = (
        "".join(
            f"<tr><td>{_e(k)}</td><td>{_e(a)}</td><td>{_e(b)}</td></tr>"
            for k, a, b in c.params_diff
        )  # fmt: skip
        or "<tr><td colspan=3>identical</td></tr>"
    )
    lineage = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(a)}</td><td>{_e(b)}</td>"
        f"<td>{'same' if a == b else 'differs'}</td></tr>"
        for k, a, b in c.lineage
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Review {_e(c.name)} "
        f"{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(c.name)}: {_e(title)}</h1>{_verdict_html(c)}{_grids_html(c, grids)}"
        f"<h2>Headline metrics</h2>{_rows_html(c.headline, c.single, 'headline')}"
        f"{_figures_html(figures or [])}{_groups_html(c)}"
        f"<h2>All other metrics</h2>{_rows_html(c.metrics, c.single, 'metrics')}"
        f"<h2>Params that differ</h2><table><tr><th>param</th><th>A</th><th>B</th></tr>"
        f"{params}</table>"
        f"<h2>Lineage</h2><table><tr><th></th><th>A</th><th>B</th><th></th></tr>{lineage}</table>"
        f"<h2>Training curves</h2>{curves_svg}{versions_html}</body></html>"
    )


def write_review_page(
    cli: MlflowClient, c: Comparison, out: Path, kind: DataKind, versions_html: str = ""
) -> str:
    """Write the page (the kind's figures after the headline metrics, `versions_html`, the
    model's version list, at its end) and log it to B's run, tagging B with its location."""
    shown = (("A", c.a),) if c.single else (("A", c.a), ("B", c.b))  # one version: one download
    grids = {label: _artifact(cli, mv.run_id, "eval/samples.png") for label, mv in shown}
    figures = kind_figures(cli, c, kind)
    page = render_html(c, grids, _curves_svg(cli, c), versions_html, figures)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    pair = f"v{c.a.version}" if c.single else f"v{c.a.version}_vs_v{c.b.version}"
    artifact = f"reviews/review_{pair}.html"
    uri = f"runs:/{c.b.run_id}/{artifact}"
    if c.b.run_id:
        cli.log_text(c.b.run_id, page, artifact)
        cli.set_model_version_tag(c.name, str(c.b.version), "review_html", uri)
    return uri

"""`gan plots`: render `dvc plots show --json` offline into one self-contained HTML page.

`dvc plots show` writes HTML that loads Vega from a CDN, so it renders blank without network;
vl-convert renders the same Vega-Lite specs to SVG locally.
"""

from __future__ import annotations

import base64
import html
import json
import subprocess
import sys
from pathlib import Path


def _dvc() -> str:
    """DVC beside this Python (a venv's gan run without activating the venv), else on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else "dvc"


def _dvc_plots_json() -> dict:
    proc = subprocess.run(
        [_dvc(), "plots", "show", "--json"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ValueError(f"dvc plots show --json failed: {proc.stderr.strip() or proc.stdout}")
    return json.loads(proc.stdout)["data"]


def render(plots: dict, out: Path) -> Path:
    """Write every vega plot as inline SVG and every image plot inline, in one HTML file."""
    import vl_convert

    sections = []
    for name, entries in plots.items():
        for entry in entries:
            rev = ", ".join(entry.get("revisions", []))
            if entry["type"] == "vega":
                body = vl_convert.vegalite_to_svg(entry["content"])
            elif entry["type"] == "image":
                data = base64.b64encode(Path(entry["url"]).read_bytes()).decode()
                body = f'<img src="data:image/png;base64,{data}" alt="{html.escape(name)}">'
            else:
                continue
            sections.append(
                f"<section><h2>{html.escape(name)} ({html.escape(rev)})</h2>{body}</section>"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "<!doctype html><meta charset='utf-8'><title>gan plots</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{image-rendering:pixelated;width:384px}"
        "</style><h1>Pipeline plots</h1>" + "".join(sections)
    )
    return out


def main(out: str) -> None:
    """Render the workspace's DVC plots to `out` (no network needed to view it)."""
    path = render(_dvc_plots_json(), Path(out))
    print(f"plots: {path} (open it in a browser; works offline)")

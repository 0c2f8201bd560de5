"""`gan review --html` renders in headless Chromium with every image and no network request."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.comparison import build, resolve
from pipeline.config import RegisterConfig
from pipeline.kinds import get
from pipeline.kinds.image.figure import make_grid
from pipeline.register import register
from pipeline.review_html import write_review_page
from pipeline.tracking import RunWriter, client, ensure_experiment
from tests.helpers import save_tiny_generator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CFG = RegisterConfig(
    model_name="gan-page", primary_metric="fd_digits", higher_is_better=False, min_improvement=0.0
)


def _version(cli, exp: str, gen: Path, fd: float, seed: int) -> None:
    run_id = cli.create_run(exp).info.run_id
    writer = RunWriter(cli.tracking_uri, run_id)
    for step in range(10, 60, 10):
        writer.metrics({"loss/D_main": 1.0 / step, "loss/G_main": fd / step}, step)
    images = np.zeros((100, 1, 8, 8), np.uint8)  # digit-like: black ground, a bright stroke
    images[:, :, 2:6, 3 + seed] = 255
    grid = make_grid(images, nrow=10)
    writer.image(grid, "eval/samples.png")
    register(cli, CFG, run_id, gen, {"fd_digits": fd, "precision": 0.5}, {})


def test_review_page_renders_offline_with_every_image(tmp_path: Path) -> None:
    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium (.ci/run does)"
    cli = client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = ensure_experiment(cli, "page-test", tmp_path)
    gen = save_tiny_generator(tmp_path / "generator.pt")
    _version(cli, exp, gen, 10.0, seed=0)
    _version(cli, exp, gen, 12.0, seed=1)
    a = resolve(cli, CFG.model_name, "@champion")
    comparison = build(cli, a, resolve(cli, CFG.model_name, "@challenger"), get("image").direction)
    page = tmp_path / "review.html"
    write_review_page(cli, comparison, page)

    shot = tmp_path / "shot.png"
    requests = _page_requests(page, tmp_path / "netlog.json", shot)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.std() > 20, "blank screenshot"
    # Both 320-px grids have black backgrounds: broken-image icons would not make these pixels.
    assert (pixels < 16).sum() > 2 * 200 * 200, "sample grids did not render"
    assert requests == [], requests  # nothing the page needs comes from the network

    # Control: the same probe does see a page that loads a remote image.
    control = tmp_path / "control.html"
    control.write_text("<img src='http://127.0.0.1:9/x.png'>")
    assert _page_requests(control, tmp_path / "control.json", tmp_path / "c.png") == [
        "http://127.0.0.1:9/x.png"
    ]


def _page_requests(page: Path, netlog: Path, shot: Path) -> list[str]:
    """Screenshot the page; return the http(s) URLs the page itself requested (Chromium's own
    update and account pings carry no initiator origin and are left out)."""
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,1400",
            f"--screenshot={shot}",
            f"--log-net-log={netlog}",
            "--no-first-run",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return sorted(
        {
            e["params"]["url"]
            for e in log["events"]
            if e["type"] == start_job
            and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
            and e["params"]["url"].startswith(("http:", "https:"))
        }
    )

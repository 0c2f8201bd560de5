"""`gan review --html` renders in headless Chromium with every image and no network request."""

from __future__ import annotations

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
from tests.browser import layout, on_first_screen, page_requests
from tests.helpers import save_tiny_generator

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
    cli = client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = ensure_experiment(cli, "page-test", tmp_path)
    gen = save_tiny_generator(tmp_path / "generator.pt")
    _version(cli, exp, gen, 10.0, seed=0)
    _version(cli, exp, gen, 12.0, seed=1)
    a = resolve(cli, CFG.model_name, "@champion")
    b = resolve(cli, CFG.model_name, "@challenger")
    image = get("image")
    comparison = build(cli, a, b, image.direction, CFG, image.review_metrics())
    page = tmp_path / "review.html"
    write_review_page(cli, comparison, page, image)

    # The first screen (1280x800) holds the decision and both grids, every image loaded.
    ids = ("verdict", "value-a", "value-b", "grid-a", "grid-b")
    probe = layout(page, tmp_path / "probed.html", ids)
    assert probe["viewport"] == [1280, 800], probe
    for id_ in ids:
        assert on_first_screen(probe["boxes"][id_]), (id_, probe)
    assert probe["text"]["value-a"] == "10" and probe["text"]["value-b"] == "12"
    assert "B would not become champion" in probe["text"]["verdict"]
    assert "@challenger" in probe["text"]["verdict"]  # what did happen to B
    grid_a, grid_b = (probe["boxes"][k] for k in ("grid-a", "grid-b"))
    assert grid_a[2] - grid_a[0] >= 400 and grid_a[2] <= grid_b[0]  # large, side by side
    assert probe["images"] and all(ok and w > 0 for _, ok, w in probe["images"]), probe

    shot = tmp_path / "shot.png"
    requests = page_requests(page, tmp_path / "netlog.json", shot)
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.std() > 20, "blank screenshot"
    # Both grids have black backgrounds: broken-image icons would not make these pixels.
    assert (pixels < 16).sum() > 2 * 200 * 200, "sample grids did not render"
    assert requests == [], requests  # nothing the page needs comes from the network

    # Control: the same probe does see a page that loads a remote image.
    control = tmp_path / "control.html"
    control.write_text("<img src='http://127.0.0.1:9/x.png'>")
    assert page_requests(control, tmp_path / "control.json", tmp_path / "c.png") == [
        "http://127.0.0.1:9/x.png"
    ]

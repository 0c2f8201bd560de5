"""Headless Chromium for the review-page tests: what a page requests, and where its elements
lie in a 1280x800 window."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
FIRST_SCREEN = (1280, 800)


def _chromium(*args: str) -> str:
    assert CHROMIUM, "headless Chromium is needed: apt-get install chromium (make test does)"
    return subprocess.run(
        [CHROMIUM, *HEADLESS, *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout


def page_requests(
    page: Path, netlog: Path, shot: Path, size: tuple[int, int] = (1280, 1400)
) -> list[str]:
    """Screenshot the page; return the http(s) URLs the page itself requested (Chromium's own
    update and account pings carry no initiator origin and are left out)."""
    _chromium(f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}",
              f"--log-net-log={netlog}", page.as_uri())  # fmt: skip
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


# Run after the page (its inline images included) has loaded: the boxes and texts of the asked
# elements and the state of every image, written into the DOM that --dump-dom prints.
_PROBE = """<script>
window.addEventListener("load", () => {
  const out = {viewport: [innerWidth, innerHeight], text: {}, boxes: {}};
  for (const id of IDS) {
    const el = document.getElementById(id);
    if (!el) continue;
    const r = el.getBoundingClientRect();
    out.boxes[id] = [r.left, r.top, r.right, r.bottom];
    out.text[id] = el.textContent.trim();
  }
  out.images = [...document.images].map(i => [i.id, i.complete, i.naturalWidth]);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def layout(page: Path, probed: Path, ids: tuple[str, ...]) -> dict:
    """Where the elements `ids` lie in a 1280x800 window as Chromium laid the page out, their
    texts and every image's (id, complete, natural width): a copy of the page with a probe
    script, its DOM dumped after load."""
    script = _PROBE.replace("IDS", json.dumps(list(ids)))
    probed.write_text(page.read_text().replace("</body>", script + "</body>"))
    w, h = FIRST_SCREEN
    probe = _probe(probed, w, h)
    # Headless Chromium's window is larger than its viewport by its frame (87 px seen): the
    # window that gives a 1280x800 viewport is measured, not assumed.
    frame = h - probe["viewport"][1]
    return _probe(probed, w, h + frame) if frame else probe


def _probe(probed: Path, width: int, height: int) -> dict:
    dom = _chromium(f"--window-size={width},{height}", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def on_first_screen(box: list[float]) -> bool:
    """Whether a box [left, top, right, bottom] lies wholly within the first screen."""
    left, top, right, bottom = box
    return min(left, top) >= 0 and right <= FIRST_SCREEN[0] and bottom <= FIRST_SCREEN[1]

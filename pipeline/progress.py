"""Driver-side progress display: follows the run's metrics in MLflow, where rank 0 writes them.

Reading the tracking store (rather than forwarding worker stdout) gives the same display for a
local run and a cluster job, and keeps Ray's own log noise out of the user's terminal.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from typing import TextIO

from pipeline.tracking import TrainingRun


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "--"
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"


def format_line(step: int, total: int, m: dict[str, float], eta_s: float) -> str:
    """One progress line: step, per-phase losses, D's outputs, throughput, ETA."""
    return (
        f"  step {step:>6}/{total} | D_main {m.get('loss/D_main', math.nan):.3f} "
        f"G_main {m.get('loss/G_main', math.nan):.3f} | D(x) {m.get('D/real', math.nan):.2f} "
        f"D(G(z)) {m.get('D/fake', math.nan):.2f} | "
        f"{m.get('perf/samples_per_s', math.nan):,.0f} samples/s | ETA {_fmt_eta(eta_s)}"
    )


class ProgressMonitor:
    """Background thread printing a line whenever the run logs a new step."""

    def __init__(
        self,
        run: TrainingRun,
        total_steps: int,
        global_batch: int,
        every_s: float = 1.0,
        out: TextIO = sys.stdout,
    ) -> None:
        self.run, self.total, self.batch = run, total_steps, global_batch
        self.every_s, self.out = every_s, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="gan-progress")
        self._last_step = -1
        self._starts_seen = 0

    def __enter__(self) -> ProgressMonitor:
        # A resumed run already has history: show only what this attempt adds.
        self._starts_seen = len(self.run.history("train/start_step"))
        hist = self.run.history("loss/D_main")
        self._last_step = max((h.step for h in hist), default=-1)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if exc[0] is None and not self._thread.is_alive():
            with contextlib.suppress(Exception):  # the display must never mask the result
                self.poll()  # the final line, if the last poll missed it

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.poll()
            except Exception as exc:  # a display hiccup must never stop training
                print(f"  (progress unavailable: {exc})", file=self.out, flush=True)

    def poll(self) -> None:
        """Print what is new since the last poll."""
        starts = self.run.history("train/start_step")
        for m in starts[self._starts_seen :]:
            what = f"resumed from checkpoint at step {int(m.value)}" if m.value else "started"
            print(f"  training {what}", file=self.out, flush=True)
            self._last_step = int(m.value)
        self._starts_seen = len(starts)
        hist = self.run.history("loss/D_main")
        if not hist:
            return
        step = max(h.step for h in hist)
        if step <= self._last_step:
            return
        self._last_step = step
        latest = self.run.latest()
        sps = latest.get("perf/samples_per_s", 0.0)
        eta = (self.total - step) * self.batch / sps if sps else math.nan
        print(format_line(step, self.total, latest, eta), file=self.out, flush=True)

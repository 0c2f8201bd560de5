"""Training guards in plain torch: NaN/inf and collapse checks, rollback, and fault injection.

The loop (pipeline/loop.py) calls them; tests drive them without Ray.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from pipeline.checkpoints import rng_state, set_rng_state
from pipeline.phases import PHASE_KEYS, PHASES, Phases, unwrap

if TYPE_CHECKING:
    from pipeline.config import TrainConfig
    from pipeline.tracking import TrainingRun


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; training stops so the last good checkpoint survives."""


class CollapseError(RuntimeError):
    """The collapse alarm fired and train.stop_on_collapse asked to stop."""


def parse_fault(fault: str | None) -> set[tuple[str, int]]:
    """'nan@STEP:PHASE[,...]' -> {(PHASE, STEP - 1)}: that phase's loss becomes NaN once, in
    step STEP (counted from 1, as the steps of the logged metrics)."""
    out: set[tuple[str, int]] = set()
    for part in (fault or "").split(","):
        if not part.strip():
            continue
        try:
            kind, rest = part.strip().split("@")
            step, phase = rest.split(":")
            if kind != "nan" or phase not in PHASES or int(step) < 1:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"GAN_FAULT={fault!r}: expected nan@STEP:PHASE[,...], PHASE in {PHASES}"
            ) from None
        out.add((phase, int(step) - 1))
    return out


class Monitor:
    """Per-step stats of a window, reduced across ranks at each check: NaN/inf and collapse.

    Stats stay on the device between checks (no host sync per step); every rank sees the same
    reduced numbers, so every rank raises (or rolls back) together.
    """

    def __init__(self, world: int, collapse_window: int) -> None:
        self.world, self.window = world, collapse_window
        self.rows: list[torch.Tensor] = []
        self.first_step = 0
        self.saturated = 0  # consecutive steps with D right on every sample
        self.alarmed = False

    def add(self, step: int, row: torch.Tensor) -> None:
        """Keep one step's stats row."""
        if not self.rows:
            self.first_step = step
        self.rows.append(row)

    def check(self) -> tuple[torch.Tensor, str | None]:
        """Mean stats row over the window and ranks; raises on NaN/inf; returns any new alarm."""
        table = torch.stack(self.rows)
        if self.world > 1:
            dist.all_reduce(table)
        table = (table / self.world).cpu()
        self.rows = []
        bad = ~torch.isfinite(table[:, :3])  # the loss columns, in PHASES order
        if bad.any():
            i, j = (int(v) for v in bad.nonzero()[0])
            value, at = table[i, j].item(), self.first_step + i + 1
            raise DivergenceError(f"loss of phase {PHASES[j]} is {value} at step {at}")
        alarm = None
        acc = table[:, PHASE_KEYS.index("D/accuracy")]
        for step_acc in acc.tolist():
            self.saturated = self.saturated + 1 if step_acc >= 1.0 - 1e-6 else 0
            if self.window and self.saturated >= self.window and not self.alarmed:
                self.alarmed = True
                alarm = (
                    f"D has classified every real and fake sample correctly for "
                    f"{self.saturated} steps: G no longer fools it (collapse or divergence)"
                )
        return table.mean(0), alarm


class LastGood:
    """This rank's in-memory copy of its state at the newest checkpoint: the rollback target.

    Every rank keeps its own (ADA evidence and BN statistics are rank-local), so a rollback
    needs no storage read and no collective.
    """

    def __init__(self, step: int, phases: Phases) -> None:
        self.save(step, phases)

    def save(self, step: int, phases: Phases) -> None:
        """Remember the state after `step` steps."""
        self.step = step
        self.state: dict[str, Any] = copy.deepcopy(
            {
                "G": unwrap(phases.G).state_dict(),
                "D": unwrap(phases.D).state_dict(),
                "G_ema": phases.G_ema.state_dict(),
                "phases": phases.state_dict(),
                "rng": rng_state(),
            }
        )

    def restore(self, phases: Phases, lr_factor: float) -> int:
        """Put the saved state back, count a rollback, scale both lrs; returns its step."""
        unwrap(phases.G).load_state_dict(self.state["G"])
        unwrap(phases.D).load_state_dict(self.state["D"])
        phases.G_ema.load_state_dict(self.state["G_ema"])
        rollbacks = phases.rollbacks
        phases.load_state_dict(copy.deepcopy(self.state["phases"]))
        set_rng_state(self.state["rng"])
        phases.rollbacks = rollbacks + 1
        phases.scale_lr(lr_factor)
        return self.step


def diverged(
    exc: DivergenceError,
    step: int,
    phases: Phases,
    last_good: LastGood,
    writer: TrainingRun | None,
    t: TrainConfig,
) -> int:
    """Roll back to the last good state (returns its step), or stop naming why."""
    allowed = t.max_rollbacks if t.on_divergence == "rollback" else 0
    if phases.rollbacks >= allowed:
        where = f"the checkpoint at step {last_good.step}" if last_good.step else "no checkpoint"
        why = f"{exc}: training stopped; the last good state is {where}"
        if allowed:
            why += f" (after {phases.rollbacks} rollback(s): train.max_rollbacks={allowed})"
        raise DivergenceError(why) from None
    back = last_good.restore(phases, t.rollback_lr_factor)
    if writer:
        message = (
            f"{exc}: rolled back to step {back}, learning rates x{phases.lr_scale:g} "
            f"(rollback {phases.rollbacks} of train.max_rollbacks={allowed})"
        )
        writer.event(step, "rollback", phases.rollbacks, message)
    return back

"""Loading tensor files without running code: weights_only, with errors that name the file."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch


class UnsafeOrCorruptFile(ValueError):
    """A file that is not a plain, whole tensor state (torn, corrupt, or carrying code)."""


def load_state(path: str | Path, what: str = "state file") -> dict[str, Any]:
    """torch.load(weights_only=True) of a dict, refusing pickled code and torn files by name."""
    path = Path(path)
    try:
        # weights_only: a .pt/.pth is a pickle, and one from elsewhere must not run code.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # torch raises many types for a bad file (even KeyError)
        # Keep torch's one useful line (which global/opcode), not its advice to drop weights_only.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [type(e).__name__]
        why = next((ln for ln in lines if "nsupported" in ln), lines[0]).split(". ")[0]
        if len(why) < 8:  # e.g. a bare KeyError code
            why = f"{type(e).__name__} {why}"
        if isinstance(e, pickle.UnpicklingError) and "weights_only" in str(e).lower():
            kind = "refused: it is not a plain weights file (it asks to run code or load objects)"
        else:
            kind = "is torn or corrupt (truncated, or not a torch file)"
        raise UnsafeOrCorruptFile(f"{what} {path} {kind}: {why}") from e
    if not isinstance(state, dict):
        raise UnsafeOrCorruptFile(f"{what} {path} is not a state dict but a {type(state).__name__}")
    return state

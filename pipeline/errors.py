"""The errors a user can act on; the CLI prints their message instead of a traceback."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """A stage failed for a reason the user can act on (the message says which)."""


class ConfigError(ValueError):
    """params.yaml is missing, malformed, or names an unknown or invalid key."""


class DataError(ValueError):
    """The data source is missing, empty, badly laid out, or holds unreadable files."""


class TrainingError(PipelineError):
    """Training failed on the workers (or could not start); the MLflow run is marked FAILED."""

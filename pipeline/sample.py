"""`gan sample`: images or rows from a registered model through its pyfunc contract; the
model's kind says what is written.

Nothing here imports ganmodels: a registered model ships its own copy, which MLflow puts on the
path when it loads the model, and an already imported one would shadow it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import kinds, paths
from pipeline.config import load_params
from pipeline.tracking import active_tracking, client, tracking_uri


def main(
    model_uri: str | None,
    n: int,
    seed: int,
    out: str,
    params_path: str,
    label: int | None = None,
    condition: tuple[str | None, str | None] = (None, None),
) -> None:
    """Load a pyfunc model by URI (a registered version only if its files are what was
    registered) and write n samples for a seed."""
    from pipeline.integrity import load_verified

    if model_uri is None:
        model_uri = f"models:/{load_params(params_path).register.model_name}@champion"
    uri = tracking_uri(paths.project_root())
    with active_tracking(uri):  # the registry the URI names
        model = load_verified(model_uri, client(uri))
    kind = kinds.for_model(model)
    kind.check_out(Path(out))
    row: dict[str, list] = {"n": [n], "seed": [seed], **kind.sample_request(Path(out))}
    if label is not None:
        row["label"] = [label]
    column, value = condition
    if column is not None or value is not None:
        row |= {"condition_column": [column], "condition_value": [value]}
    where = kind.write_samples(model.predict(pd.DataFrame(row)), Path(out))
    asked = f", label {label}" if label is not None else ""
    asked += f", {column} == {value}" if column is not None else ""
    print(f"sample: {n} {kind.noun} from {model_uri} (seed {seed}{asked}) -> {where}")

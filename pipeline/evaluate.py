"""DVC stage `evaluate`: the data's kind scores the exported generator against the holdout;
this one epilogue writes metrics/eval.json and the figure and logs both to the MLflow run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganmodels.safeload import load_state
from pipeline import kinds, paths
from pipeline.config import load_params
from pipeline.data import read_schema
from pipeline.kinds.base import Evaluation
from pipeline.tracking import RunWriter, summary_metrics, tracking_uri


def load_generator_state(path: Path, data_hash: str | None = None) -> dict[str, Any]:
    """The exported generator (weights_only: no code from the file), refused when it was
    trained on other data than `data_hash`."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator (run the train stage first)")
    state = load_state(path, "generator file")
    if data_hash is not None and state.get("data_hash") != data_hash:
        raise ValueError(
            f"{path} was trained on other data (hash {str(state.get('data_hash'))[:12]}, "
            f"prepared data is {data_hash[:12]}): rerun `dvc repro train`"
        )
    return state


def write_evaluation(result: Evaluation, uri: str, run_id: str, step: int) -> None:
    """eval.json and the figure (the stage's outs), then the same metrics and files in MLflow."""
    paths.write_json(paths.METRICS / "eval.json", result.metrics)
    paths.SAMPLE_GRID.parent.mkdir(parents=True, exist_ok=True)
    paths.atomic_write(paths.SAMPLE_GRID, lambda tmp: result.figure.save(tmp, format="PNG"))
    writer = RunWriter(uri, run_id)
    flat = summary_metrics(result.metrics)
    writer.metrics({"eval/" + k.replace(".", "/"): float(v) for k, v in flat.items()}, step)
    writer.image(result.figure, "eval/samples.png")
    for name, text in result.artifacts.items():
        writer.text(text, name)


def main(params_path: str = str(paths.PARAMS)) -> None:
    """DVC entry point: generator + prepared data -> metrics/eval.json, figure, MLflow."""
    params = load_params(params_path)
    root = paths.project_root()
    schema = read_schema(paths.PREPARED)
    kind = kinds.for_schema(schema)
    state = load_generator_state(paths.GENERATOR, schema["data_hash"])
    exported = kinds.for_generator(state, f"generator file {paths.GENERATOR}")
    if exported is not kind:
        raise ValueError(
            f"{paths.GENERATOR} is a {exported.name} model, the prepared data is "
            f"{kind.name}: rerun `dvc repro train`"
        )
    result = kind.evaluate(params, schema, state, root)
    run_id = json.loads(paths.TRAIN_RUN.read_text())["run_id"]
    write_evaluation(result, tracking_uri(root), run_id, state["step"])
    print(result.line, flush=True)

"""Evaluation time against sample count: the image evaluate's core (`pipeline.kinds.image.evaluate`)
on the workspace's trained generator, classifier and prepared data, for 1k, 10k and 50k samples.

Run after `dvc repro` (not in CI):
  .venv/bin/python benchmarks/evaluate.py --samples 1000 10000 50000
Smoke run (a throwaway workspace: prepared digits, a 1-epoch classifier, an untrained generator
exported as the train stage exports it; 100 and 200 samples; a temporary --out):
  .venv/bin/python benchmarks/evaluate.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.smoke import out_path  # noqa: E402


def smoke_workspace(root: Path) -> Path:
    """A project root holding what `dvc repro` leaves for evaluate, made in seconds: params,
    prepared data, a 1-epoch classifier and an untrained generator export."""
    import torch

    from ganmodels.build import build_generator
    from pipeline import paths
    from pipeline.classifier import save_checkpoint
    from pipeline.config import load_params
    from pipeline.data import read_schema
    from pipeline.kinds import for_schema
    from pipeline.kinds.image.classifier import train_classifier
    from pipeline.prepare import prepare
    from tests.helpers import write_params

    params = load_params(write_params(root / paths.PARAMS, {"evaluate": {"classifier_epochs": 1}}))
    prepare(params.data, root / paths.PREPARED, root)
    checkpoint, _ = train_classifier(root / paths.PREPARED, params.evaluate)
    save_checkpoint(checkpoint, root / paths.CLASSIFIER)
    schema = read_schema(root / paths.PREPARED)
    config = for_schema(schema).model_config(params, schema, root / paths.PREPARED)
    torch.manual_seed(0)
    # The keys the train stage's export carries (pipeline.train.write_outputs).
    export = {"model_config": config, "state_dict": build_generator(config).state_dict(),
              "step": 0, "data_hash": checkpoint["data_hash"], "run_id": "smoke"}  # fmt: skip
    (root / paths.GENERATOR).parent.mkdir(parents=True, exist_ok=True)
    torch.save(export, root / paths.GENERATOR)
    return root


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Time generation + features + every metric per sample count; print one JSON line each."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", nargs="+", type=int, default=[1000, 10000, 50000])
    p.add_argument("--root", default=str(ROOT), help="project root after `dvc repro`")
    p.add_argument("--out", default=None, help="JSON rows (default: benchmarks/evaluate.json)")
    p.add_argument("--smoke", action="store_true", help="a throwaway workspace, 100/200 samples")
    args = p.parse_args(argv)
    out = out_path(args.out, args.smoke, "evaluate.json")
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        root = Path(args.root).resolve()
        if args.smoke:
            args.samples = [100, 200]
            root = smoke_workspace(Path(tmp))
        rows = _measure(root, args.samples)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {out}")
    return rows


def _measure(root: Path, samples: list[int]) -> list[dict[str, Any]]:
    """One row per sample count: seconds of `evaluate`, its FD and KID."""
    from ganmodels.build import generator_from_state
    from pipeline import paths
    from pipeline.config import load_params
    from pipeline.data import SPLITS
    from pipeline.evaluate import load_generator_state
    from pipeline.kinds.image.classifier import load_classifier
    from pipeline.kinds.image.evaluate import evaluate, feature_extractor
    from pipeline.kinds.image.metrics import fd_key
    from pipeline.kinds.image.shards import load_split

    # The stage's paths are relative to the project root: anchor them at root (no chdir, so
    # the script can run inside another process).
    params = load_params(root / paths.PARAMS)
    state = load_generator_state(root / paths.GENERATOR)
    g = generator_from_state(state)
    clf, _ = load_classifier(root / paths.CLASSIFIER)
    train, validation, holdout = (load_split(root / paths.PREPARED, s) for s in SPLITS)
    features = feature_extractor(params.evaluate, root)
    name = fd_key(params.data.source, params.evaluate.feature_extractor)
    rows = []
    for n in samples:
        cfg = params.evaluate.model_copy(update={"num_samples": n})
        t0 = time.perf_counter()
        result = evaluate(g, state["model_config"]["z_dim"], clf, train, validation, holdout,
                          cfg, name, features)  # fmt: skip
        row = {"num_samples": n, "seconds": round(time.perf_counter() - t0, 2),
               name: result.metrics[name], "kid": result.metrics["kid"]}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    main()

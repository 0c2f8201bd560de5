"""Evaluation time against sample count: the evaluate stage's core (`pipeline.evaluate.evaluate`)
on the workspace's trained generator, classifier and prepared data, for 1k, 10k and 50k samples.

Run after `dvc repro` (not in CI):
  .venv/bin/python benchmarks/evaluate.py --samples 1000 10000 50000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Time generation + features + every metric per sample count; print one JSON line each."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", nargs="+", type=int, default=[1000, 10000, 50000])
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "evaluate.json"))
    args = p.parse_args()
    os.chdir(ROOT)  # the stage's paths are relative to the project root
    from pipeline import paths
    from pipeline.classifier import load_classifier
    from pipeline.config import load_params
    from pipeline.data import load_split
    from pipeline.evaluate import evaluate, fd_key, feature_extractor, load_generator

    params = load_params(paths.PARAMS)
    g, state = load_generator(paths.GENERATOR)
    clf, _ = load_classifier(paths.CLASSIFIER)
    train_images, _ = load_split(paths.PREPARED, "train")
    holdout = load_split(paths.PREPARED, "holdout")
    features = feature_extractor(params.evaluate, ROOT)
    name = fd_key(params.data.source, params.evaluate.feature_extractor)
    rows = []
    for n in args.samples:
        cfg = params.evaluate.model_copy(update={"num_samples": n})
        t0 = time.perf_counter()
        result = evaluate(g, state["model_config"]["z_dim"], clf, train_images, holdout, cfg,
                          name, features)  # fmt: skip
        row = {"num_samples": n, "seconds": round(time.perf_counter() - t0, 2),
               name: result.metrics[name], "kid": result.metrics["kid"]}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()

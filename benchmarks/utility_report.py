"""benchmarks/utility.py's report: each table's arms (mean and SD over seeds) with a verdict
that says where ours loses, and the membership-inference AUCs beside the line a leak crosses."""

from __future__ import annotations

from typing import Any

import numpy as np

ARMS = {"none": "real rows alone", "smote": "+ SMOTE", "oversampling": "+ random oversampling",
        "ours": "+ our conditional samples"}  # fmt: skip
LEAK = 0.6  # issue 20: the default models' membership AUC at or below this


def _cell(values: list[float]) -> str:
    """Mean (and SD over seeds where there are several)."""
    mean = float(np.mean(values))
    return f"{mean:.3f}" if len(values) < 2 else f"{mean:.3f} ± {float(np.std(values, ddof=1)):.3f}"


def _table(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """One table's section: the arms, then the verdict on minority F1."""
    first = rows[0]
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"### {name}", "",
             f"Minority class `{first['minority']}`: {first['minority_share']:.1%} of the train "
             f"rows; {len(seeds)} seed(s), each its own split and fit of ours.", "",
             "| arm | minority F1 | balanced accuracy | macro F1 | rows added |",
             "|---|---|---|---|---|"]  # fmt: skip
    f1 = {}
    for arm, label in ARMS.items():
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        f1[arm] = float(np.mean([r["minority_f1"] for r in mine]))
        lines.append(
            f"| {label} | {_cell([r['minority_f1'] for r in mine])} | "
            f"{_cell([r['balanced_accuracy'] for r in mine])} | "
            f"{_cell([r['macro_f1'] for r in mine])} | {mine[0]['added']} |"
        )
    return [*lines, "", verdict(f1), ""]


def verdict(f1: dict[str, float]) -> str:
    """Where ours wins and loses on minority F1 (means over seeds)."""
    if "ours" not in f1:
        return "Verdict: ours was not run."
    beaten = [a for a in ("smote", "oversampling") if f1["ours"] > f1[a]]
    names = {"smote": "SMOTE", "oversampling": "random oversampling", "none": "real rows alone"}
    lost = [names[a] for a in ("smote", "oversampling", "none") if f1["ours"] <= f1[a]]
    said = "beats SMOTE and random oversampling" if len(beaten) == 2 else (
        "does not beat " + " or ".join(lost))  # fmt: skip
    worse = " and is worse than the real rows alone" if f1["ours"] < f1["none"] else ""
    return f"Verdict: on minority F1, ours ({f1['ours']:.3f}) {said}{worse}."


def _privacy(rows: list[dict[str, Any]]) -> list[str]:
    """The attack's AUC per model, with the copy rate where there is one."""
    lines = ["## Privacy: membership inference", "",
             "A record is called a training member the closer it lies to a sample; the ROC AUC "
             "over train and holdout records (0.5: the samples tell nothing of who was trained "
             f"on; issue 20 asks for at most {LEAK} for the default models, and for the attack "
             "to catch a model trained far too long on 100 rows).", "",
             "| model | steps | train rows | membership AUC | copy rate |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        copy = f"{r['copy_rate']:.3f}" if "copy_rate" in r else ""
        lines.append(f"| {r['model']} | {r['steps']} | {r['train_rows']} | "
                     f"{r['membership_auc']:.3f} | {copy} |")  # fmt: skip
    lines.append("")
    for r in rows:
        overfit = "far too long" in r["model"]
        ok = r["membership_auc"] > LEAK if overfit else r["membership_auc"] <= LEAK
        said = ("caught" if ok else "NOT caught: the attack misses it") if overfit else (
            "within the limit" if ok else "OVER the limit")  # fmt: skip
        lines.append(f"- {r['model']}: AUC {r['membership_auc']:.3f}, {said}.")
    return [*lines, ""]


def report(rows: dict[str, list[dict[str, Any]]], smoke: bool = False) -> str:
    """The whole report."""
    lines = ["# Utility: does synthetic data earn its keep?", ""]
    if smoke:
        lines += ["**Smoke run** (`--smoke`): the same path in a few steps; its numbers mean "
                  "nothing.", ""]  # fmt: skip
    commands = dict.fromkeys(r["command"] for part in rows.values() for r in part)
    lines += [f"Command: `{c}`" for c in commands] + [""]
    if rows["imbalance"]:
        lines += ["## Class imbalance", "",
                  "A fixed random forest (100 trees, the one ML efficacy uses) on each arm's rows, "
                  "scored on the holdout; SMOTE and random oversampling from imbalanced-learn, "
                  "each class up to the majority's count; ours adds as many rows, drawn from our "
                  "table model conditioned on each class.", ""]  # fmt: skip
        for name in dict.fromkeys(r["data"] for r in rows["imbalance"]):
            lines += _table(name, [r for r in rows["imbalance"] if r["data"] == name])
    if rows["privacy"]:
        lines += _privacy(rows["privacy"])
    return "\n".join(lines)

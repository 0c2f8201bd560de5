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
             "| arm | minority F1 | balanced accuracy | macro F1 | shares chosen | rows added |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    f1 = {}
    for arm, label in ARMS.items():
        mine = [r for r in rows if r["arm"] == arm]
        if not mine:
            continue
        f1[arm] = [r["minority_f1"] for r in mine]
        shares = ", ".join(f"{r.get('amount', 1.0):g}" for r in mine)  # per seed
        lines.append(
            f"| {label} | {_cell([r['minority_f1'] for r in mine])} | "
            f"{_cell([r['balanced_accuracy'] for r in mine])} | "
            f"{_cell([r['macro_f1'] for r in mine])} | {shares} | "
            f"{round(float(np.mean([r['added'] for r in mine])))} |"
        )
    # Seeds every arm has (the report is rewritten row by row: a seed may be half done).
    done = set.intersection(*({r["seed"] for r in rows if r["arm"] == a} for a in f1))
    paired = {a: [r["minority_f1"] for r in sorted(rows, key=lambda r: r["seed"])
                  if r["arm"] == a and r["seed"] in done] for a in f1}  # fmt: skip
    return [*lines, "", verdict(paired), ""]


def worse(ours: list[float], base: list[float]) -> str:
    """On how many paired seeds ours is below its baseline, and by how much at most."""
    drops = [b - o for o, b in zip(ours, base, strict=True) if o < b]
    if not drops:
        return f"never below it on any of {len(ours)} seed(s)"
    return f"below it on {len(drops)} of {len(ours)} seeds (by {max(drops):.3f} at most)"


def verdict(f1: dict[str, list[float]]) -> str:
    """Where ours wins and loses on minority F1 (values per seed, in the same seed order): a
    win over a peer needs a paired one-sided t-test over the seeds at p < 0.05."""
    from scipy import stats

    if "ours" not in f1:
        return "Verdict: ours was not run."
    ours = np.asarray(f1["ours"])
    names = {"smote": "SMOTE", "oversampling": "random oversampling", "none": "the real rows alone"}
    parts = []
    for arm in ("smote", "oversampling", "none"):
        other = np.asarray(f1[arm])
        gap, detail = float(np.mean(ours - other)), ""
        if not np.any(ours - other):
            said = "ties with"
        elif len(ours) < 2:
            said, detail = "is untested against", ", 1 seed"
        else:
            p = float(stats.ttest_rel(ours, other, alternative="greater").pvalue)
            said, detail = ("beats" if gap > 0 and p < 0.05 else "does not beat"), f", p = {p:.3f}"
        parts.append(f"{said} {names[arm]} ({gap:+.3f}{detail})")
    if float(np.mean(ours - np.asarray(f1["none"]))) < 0:
        parts.append("**ours makes the forest worse than the real rows alone, on the mean**")
    parts.append(f"per seed, ours is {worse(list(ours), list(f1['none']))} of the real rows alone")
    return f"Verdict on minority F1, ours {float(np.mean(ours)):.3f}: " + "; ".join(parts) + "."


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
        if "control" in r["model"]:
            continue  # read beside their model in the table
        overfit = "far too long" in r["model"]
        ok = r["membership_auc"] > LEAK if overfit else r["membership_auc"] <= LEAK
        said = ("caught" if ok else "NOT caught: the attack misses it") if overfit else (
            "within the limit" if ok else "OVER the limit")  # fmt: skip
        lines.append(f"- {r['model']}: AUC {r['membership_auc']:.3f}, {said}.")
    return [*lines, ""]


SMALL = {"real": "real images alone", "classic": "+ classic augmentation",
         "synthetic": "+ our samples", "both": "+ both"}  # fmt: skip


def _small(rows: list[dict[str, Any]]) -> list[str]:
    """Holdout accuracy per size and arm, the ratios chosen, and where our samples lose."""
    lines = ["## Small data: the digits with a few images per class", "",
             "A small CNN (the classifier stage's network) on the few images alone, with classic "
             "augmentation (1-pixel shifts, copies rotated by 10 degrees each way), with our "
             "conditional GAN's samples, and with both; accuracy on a fixed 30% holdout of the "
             "digits. The GAN trains on the few images less a validation share of each class "
             "(`validation images`); each CNN chooses its ratio of samples (0 allowed) on "
             "those images G never saw (an amount above 0 must beat 0 at a one-sided 5% level, "
             "Bonferroni-corrected over the ratios, on a bootstrap of the validation images), "
             "then fits all the few images.", "",
             "| images per class | " + " | ".join(SMALL.values()) + " | ratios chosen (ours; "
             "both) | GAN steps | validation images | GAN's membership AUC | GAN's copy rate |",
             "|---" * (len(SMALL) + 6) + "|"]  # fmt: skip
    verdicts = []
    for size in sorted({r["per_class"] for r in rows}):
        mine = [r for r in rows if r["per_class"] == size]
        acc = {a: [r["accuracy"] for r in mine if r["arm"] == a] for a in SMALL}
        ratios = sorted({r["ratio"] for r in mine if r["arm"] == "synthetic"})
        both = sorted({r["ratio"] for r in mine if r["arm"] == "both"})
        cells = " | ".join(_cell(v) if v else "" for v in acc.values())
        gan = [r for r in mine if r["arm"] == "real"]  # one row per seed: one GAN
        leak = " | ".join(_cell([r[k] for r in gan]) if k in gan[0] else "" for k in
                          ("membership_auc", "copy_rate"))  # fmt: skip
        chosen = f"{', '.join(f'{r:g}' for r in ratios)}; {', '.join(f'{r:g}' for r in both)}"
        lines.append(f"| {size} | {cells} | {chosen} | {gan[0].get('steps', '')} | "
                     f"{gan[0].get('validation_images', '')} | {leak} |")  # fmt: skip
        pair = {a: [r["accuracy"] for r in sorted(mine, key=lambda r: r["seed"])
                    if r["arm"] == a] for a in SMALL}  # fmt: skip
        if acc["synthetic"] and len(pair["synthetic"]) == len(pair["real"]):
            gain = float(np.mean(acc["synthetic"]) - np.mean(acc["real"]))
            said = "help" if gain > 0 else "do not help"
            zero = " and the validation images chose ratio 0 every time" if ratios == [0.0] else ""
            verdicts.append(f"- {size} per class: our samples {said} ({gain:+.3f} accuracy over "
                            f"the real images alone){zero}; per seed they are "
                            f"{worse(pair['synthetic'], pair['real'])}.")  # fmt: skip
        if acc["both"] and len(pair["both"]) == len(pair["classic"]):
            gain = float(np.mean(acc["both"]) - np.mean(acc["classic"]))
            said = "help" if gain > 0 else "do not help"
            zero = " and the validation images chose ratio 0 every time" if both == [0.0] else ""
            verdicts.append(f"- {size} per class: beside classic augmentation our samples {said} "
                            f"({gain:+.3f} accuracy over classic augmentation alone){zero}; per "
                            f"seed they are {worse(pair['both'], pair['classic'])}.")  # fmt: skip
        if "membership_auc" in gan[0]:
            auc = float(np.mean([r["membership_auc"] for r in gan]))
            side = "over" if auc > LEAK else "at or below"
            seen = gan[0].get("gan_images", size * 10)
            verdicts.append(f"- {size} per class: the attack's AUC on its GANs ({seen} train "
                            f"images each), {auc:.3f}, is {side} {LEAK}.")  # fmt: skip
    return [*lines, "", *verdicts, ""]


def report(rows: dict[str, list[dict[str, Any]]], smoke: bool = False) -> str:
    """The whole report."""
    lines = ["# Utility: does synthetic data earn its keep?", ""]
    if smoke:
        lines += ["**Smoke run** (`--smoke`): the same path in a few steps; its numbers mean "
                  "nothing.", ""]  # fmt: skip
    commands = dict.fromkeys(r["command"] for part in rows.values() for r in part)
    lines += [f"Command: `{c}`" for c in commands] + [""]
    if rows.get("small"):
        lines += _small(rows["small"])
    if rows["imbalance"]:
        lines += ["## Class imbalance", "",
                  "A fixed random forest (100 trees, the one ML efficacy uses) on each arm's rows, "
                  "scored on the holdout; SMOTE and random oversampling from imbalanced-learn, "
                  "and our table model's samples conditioned on each class. Each adds a share "
                  "(0, 1/4, 1/2 or 1: shares chosen, per seed) of the rows that would bring "
                  "every class to the majority's count, the share the validation rows (which "
                  "prepare keeps from our model's training) choose by minority F1 (an amount "
                  "above 0 must beat 0 at a one-sided 5% level, Bonferroni-corrected over the "
                  "shares, on a bootstrap of the validation rows; 0: adding rows did not help); "
                  "the forest then fits every real row, train and validation, plus that share.",
                  ""]  # fmt: skip
        for name in dict.fromkeys(r["data"] for r in rows["imbalance"]):
            lines += _table(name, [r for r in rows["imbalance"] if r["data"] == name])
    if rows["privacy"]:
        lines += _privacy(rows["privacy"])
    return "\n".join(lines)

"""benchmarks/tabular.md from the rows of benchmarks/tabular.py: a table per data set, the
verdicts, and how to read them (also `python benchmarks/tabular.py --report-only`)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.tabular_peers import TABLES

METRICS = [
    ("quality_score", "quality ↑"),
    ("column_shapes", "col. shapes ↑"),
    ("pair_trends", "pair trends ↑"),
    ("detection_auc_boosted", "boosted detection AUC ↓ (0.5 ideal)"),
    ("detection_auc", "logistic detection AUC ↓"),
    ("column_detection_max", "most detectable column AUC ↓"),
    ("ml_efficacy", "ML efficacy F1 ↑"),
    ("ml_majority", "majority-class F1 (floor)"),
    ("dcr_ratio", "DCR ratio (≈1: no copying)"),
    ("fit_s", "fit s"),
    ("rows_per_s", "train rows/s"),
]


def _cell(values: pd.Series) -> str:
    if values.isna().all():
        return "–"
    mean = values.mean()
    fmt = ",.0f" if abs(mean) >= 1000 else ".1f" if abs(mean) >= 10 else ".3f"
    if len(values) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(values.std(ddof=1), fmt)}"


MAX_BOOSTED, MIN_ML_RATIO = 0.75, 0.9  # issue 17's targets for ours


def _verdict(table: str, part: pd.DataFrame, has_ctgan: bool) -> str:
    """One line: ours' boosted AUC (vs CTGAN), pair trends vs the floor, ML efficacy vs real."""
    m = part.groupby("system")[["detection_auc_boosted", "pair_trends", "ml_efficacy"]].mean()
    fit = part.groupby("system")["fit_s"].mean()
    b, pt, ml = m["detection_auc_boosted"], m["pair_trends"], m["ml_efficacy"]
    met = {True: "met", False: "missed"}
    ratio = ml["ours"] / ml["real"] if ml["real"] else 0.0
    line = (
        f"- {table}: boosted AUC {b['ours']:.3f} ({met[b['ours'] <= MAX_BOOSTED]}"
        + (
            f"; CTGAN {b['ctgan']:.3f}, {'ours' if b['ours'] < b['ctgan'] else 'CTGAN'} better"
            if has_ctgan
            else "; CTGAN not run"
        )  # fmt: skip
        + f"; marginals {b['marginals']:.3f}"
        + (", the floor better" if b["marginals"] < b["ours"] else "")
        + f"); pair trends {pt['ours']:.3f} vs marginals {pt['marginals']:.3f} "
        f"({met[pt['ours'] > pt['marginals']]}); ML efficacy {ml['ours']:.3f} = "
        f"{ratio:.2f} of real's {ml['real']:.3f} ({met[ratio >= MIN_ML_RATIO]})"
    )
    if has_ctgan:
        gap = abs(fit["ours"] - fit["ctgan"]) / fit["ctgan"]
        line += f"; fit {fit['ours']:.1f} s vs CTGAN {fit['ctgan']:.1f} s ({gap:.1%} apart)"
    return line


def report(rows: list[dict[str, Any]], args: argparse.Namespace, command: str, when: str) -> str:
    """benchmarks/tabular.md: a table per data set, then the verdict per table."""
    # Long: the report's sections in the order a reader meets them.
    df = pd.DataFrame(rows)
    lines = [
        "# Tabular GAN vs CTGAN at equal wall-clock time",
        "",
        f"Command: `{command}` (CPU, 2 cores; {len(args.seeds)} seeds; budget "
        f"{args.budget_s:g} s of fit time per run, calibrated per table). Finished: {when}.",
        "",
        "Scores against each table's real holdout (the evaluate stage's metrics; mean ± std over "
        "seeds). `real` is the train rows themselves (the ceiling; its DCR is 0 by construction), "
        "`marginals` each column resampled alone (the floor). `quality` is the mean of column "
        "shapes and pair trends.",
        "",
    ]
    verdicts = []
    for table, part in df.groupby("table", sort=False):
        lines += [f"## {table}", "", "| system | " + " | ".join(h for _, h in METRICS) + " |"]
        lines.append("|---" * (len(METRICS) + 1) + "|")
        for system, runs in part.groupby("system", sort=False):
            cells = []
            for key, _ in METRICS:
                col = runs[key] if key in runs else pd.Series([np.nan])
                cells.append("–" if system == "real" and key == "dcr_ratio" else _cell(col))
            lines.append(f"| {system} | " + " | ".join(cells) + " |")
        lines.append("")
        has_ctgan = (part["system"] == "ctgan").any()
        dropped = part.loc[part["system"] == "ctgan", "dropped_rows"].max() if has_ctgan else 0
        if dropped:
            lines += [
                f"CTGAN refuses nulls in continuous columns: it trained without the {dropped:.0f}"
                " train rows that have one (ours models them with a null indicator).",
                "",
            ]
        worst = part.loc[part["system"] == "ours", "most_detectable_column"]
        if "most_detectable_column" in part and worst.notna().any():
            counts = worst.value_counts()
            lines += [
                "Ours' most detectable column: "
                + ", ".join(f"`{c}` ({n} of {len(worst)} seeds)" for c, n in counts.items())
                + ".",
                "",
            ]
        if table in TABLES and TABLES[table].note:
            lines += [TABLES[table].note, ""]
        verdicts.append(_verdict(table, part, has_ctgan))
    losses = [v for v in verdicts if "missed" in v or "better" in v.replace("ours better", "")]
    tables = list(dict.fromkeys(df["table"]))
    fits = df.groupby(["table", "system"])["fit_s"].mean()
    uneven = [t for t in tables if (t, "ctgan") in fits.index
              and abs(fits[t, "ours"] - fits[t, "ctgan"]) > 0.05 * fits[t, "ctgan"]]  # fmt: skip
    cols = df.groupby(["table", "system"])[["column_shapes", "column_detection_max"]].mean()
    shapes_lost = [t for t in tables if cols.loc[(t, "marginals"), "column_shapes"]
                   > cols.loc[(t, "ours"), "column_shapes"]]  # fmt: skip
    column_lost = [t for t in tables if cols.loc[(t, "marginals"), "column_detection_max"]
                   < cols.loc[(t, "ours"), "column_detection_max"]]  # fmt: skip
    lines += [
        "## Verdict",
        "",
        f"Targets (issue 17): boosted detection AUC ≤ {MAX_BOOSTED}, pair trends above the "
        f"marginals floor, ML efficacy ≥ {MIN_ML_RATIO} of real's. Headline: the boosted detector.",
        "",
        *verdicts,
        "",
        f"Where we lose: {len(losses)} of {len(verdicts)} tables miss a target or trail CTGAN "
        "or the marginals floor on the boosted detector (the lines above marked missed, CTGAN "
        "better or the floor better)."
        + (
            f" The budget is unequal on {', '.join(uneven)}: mean fit times more than 5% apart "
            "(the issue allows 5%; see each line's fit times)."
            if uneven
            else ""
        )
        + (
            " Beside the targets, each column resampled alone (the marginals) is closer to the "
            f"holdout's than ours on column shapes on {', '.join(shapes_lost) or 'none'}, and on "
            f"the most detectable single column on {', '.join(column_lost) or 'none'}."
        ),
        "",
    ]
    means = df.groupby(["table", "system"])[["quality_score", "ml_efficacy"]].mean()
    floor_wins = [t for t in tables if means.loc[(t, "marginals"), "quality_score"]
                  > means.loc[(t, "ours"), "quality_score"]]  # fmt: skip
    ctgan_ml = [t for t in tables if (t, "ctgan") in means.index
                and means.loc[(t, "ctgan"), "ml_efficacy"]
                > means.loc[(t, "ours"), "ml_efficacy"] + 0.01]  # fmt: skip
    lines += [
        "## Reading it",
        "",
        "- Column shapes and pair trends score each column and each pair alone, and the "
        "logistic detector is linear: resampling columns independently scores high on them when "
        "the columns depend on each other only weakly"
        + (
            f" (the marginals floor out-scores both GANs on quality for {', '.join(floor_wins)})"
            if floor_wins
            else ""
        )  # fmt: skip
        + ". ML efficacy is the check of the relations that matter for a task: there the "
        "marginals fall to chance.",
        "- ML efficacy"
        + (
            f": CTGAN's is higher (by more than 0.01) on {', '.join(ctgan_ml)}"
            if ctgan_ml
            else ": ours is as high or higher everywhere"
        )
        + " (a random forest trained on synthetic rows, macro F1 on the real holdout).",
        "- Fit times count preprocessing on both sides: ours is `prepare` (reading the table, "
        "the column rules, the mixtures) plus `fit` (one Ray Train worker in the benchmark's "
        "process, its start and teardown included); CTGAN's is its `fit`, transformer "
        "included. CTGAN's vary by several seconds between seeds at the same epoch count, so "
        "ours is fitted to each seed's realised CTGAN time (up to 4 fits, the closest kept)."
        + (
            f" The budget is not equal where the mean fit times lie more than 5% apart "
            f"({', '.join(uneven)}): the step-count correction did not reach them."
            if uneven
            else " Every table's mean fit times lie within 5% of each other."
        ),
        "",
    ]
    return "\n".join(lines)

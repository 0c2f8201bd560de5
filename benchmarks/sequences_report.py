"""benchmarks/sequences.py's report: ours (mean over seeds) beside the published numbers, real
data and shuffled steps, per data set, each with the commands that made its rows."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.sequences_labelled import LABELLED
from benchmarks.sequences_labelled import report as labelled_report

# Published (TimeGAN: Yoon et al. 2019, table 2; Diffusion-TS: Yuan and Qiao 2024, table 1).
PUBLISHED = {
    "sines": {"TimeGAN": {"discriminative": 0.011, "predictive": 0.093}},
    "energy": {
        "TimeGAN": {"discriminative": 0.236, "predictive": 0.273},
        "Diffusion-TS": {"discriminative": 0.122},
    },
}


def _commands(rows: list[dict[str, Any]], name: str) -> list[str]:
    """The commands that made name's rows, one line each."""
    return [
        f"Command: `{c}`" for c in dict.fromkeys(r["command"] for r in rows if r["data"] == name)
    ]


def _repeats(rows: list[dict[str, Any]]) -> str:
    """The post-hoc seeds behind rows' means ("3/10" where runs differ); a row from before
    rows recorded them, from its command's --repeats."""

    def one(r: dict[str, Any]) -> str:
        said = re.search(r"--repeats (\d+)", r.get("command", ""))
        return str(r.get("repeats") or (said.group(1) if said else "?"))

    return "/".join(sorted({one(r) for r in rows}, key=lambda n: (len(n), n)))


def _ours(name: str, system: str, seeded: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """One system's table row (means over its seeds) and its verdict."""
    keys = ("discriminative", "predictive", "accuracy", "boosted_auc", "fit_s")
    mean = {k: np.mean([r[k] for r in seeded]) for k in keys}
    row = (
        f"| {system}, mean of {len(seeded)} seeds | {mean['discriminative']:.4f} | "
        f"{mean['predictive']:.4f} | {mean['accuracy']:.4f} | {mean['boosted_auc']:.4f} | "
        f"{mean['fit_s']:.0f} | {_repeats(seeded)} |"
    )
    hold = np.mean([r["holdout_discriminative"] for r in seeded])
    bar = PUBLISHED[name]["TimeGAN"]["discriminative"]
    return row, [
        f"{system}: against the holdout fifth alone, discriminative {hold:.4f}.",
        f"Verdict: {system} {verdict([r['discriminative'] for r in seeded], bar)}",
    ]


def verdict(scores: list[float], bar: float) -> str:
    """How seeds' discriminative scores stand against a published one: a win only where a
    one-sided t-test over the seeds puts their mean below it (p < 0.05); a lower mean alone
    may be the seeds' luck."""
    mean, said = float(np.mean(scores)), f"TimeGAN's published discriminative score ({bar})"
    if mean >= bar:
        return f"loses to {said}: {mean:.4f}."
    if len(scores) < 2:
        return f"is below {said}, untested: {mean:.4f} (1 seed; a win needs p < 0.05 over seeds)."
    p = 0.0 if np.ptp(scores) == 0 else stats.ttest_1samp(scores, bar, alternative="less").pvalue
    test = f"one-sided t-test over {len(scores)} seeds: p = {p:.3f}"
    if p < 0.05:
        return f"beats {said}: {mean:.4f} ({test})."
    return f"is below {said}, not significantly: {mean:.4f} ({test}; a win needs p < 0.05)."


def report(rows: list[dict[str, Any]]) -> str:
    """The markdown report: ours (mean over seeds) beside the published numbers and real data."""
    names = list(dict.fromkeys(r["data"] for r in rows))
    lines = ["# Sequences: TimeGAN's protocol", ""]
    for name in (n for n in names if n in LABELLED):
        head, *body = labelled_report(name, [r for r in rows if r["data"] == name])
        lines += [head, "", *_commands(rows, name), *body]
    for name in (n for n in names if n not in LABELLED):
        lines += [f"## {name}", "", *_commands(rows, name), ""]
        lines += [
            "| system | discriminative | predictive | accuracy | boosted AUC | fit s "
            "| post-hoc seeds |",
            "|---|---|---|---|---|---|---|",
        ]
        for system, scores in PUBLISHED.get(name, {}).items():
            lines.append(
                f"| {system} (published) | {scores.get('discriminative', '-')} | "
                f"{scores.get('predictive', '-')} | | | | |"
            )
        mine = [r for r in rows if r["data"] == name]
        for r in (r for r in mine if "seed" not in r):
            lines.append(
                f"| {r['system']} | {r['discriminative']} | {r['predictive']} | {r['accuracy']} "
                f"| {r.get('boosted_auc', '-')} | | {_repeats([r])} |"
            )
        notes: list[str] = []
        for system in dict.fromkeys(r["system"] for r in mine if "seed" in r):
            row, note = _ours(name, system, [r for r in mine if r["system"] == system])
            lines.append(row)
            notes += note
        lines += ["", *notes] if notes else []
        lines.append("")
    return "\n".join(lines)

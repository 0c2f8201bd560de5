"""benchmarks/sequences.py: its smoke mode (TimeGAN's protocol through the pipeline), its report
of several runs, and its outsider's detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.test_benchmarks import _read, _script


def test_sequences_smoke(tmp_path: Path) -> None:
    """sequences.py: TimeGAN's protocol on a few sines, ours fitted through the pipeline, beside
    the published numbers, a real half and shuffled steps; JapaneseVowels' TSTR beside real."""
    out = tmp_path / "sequences.md"
    argv = ["--smoke", "--preset", "sines=tcn_moments", "--jobs", "2", "--out", str(out)]
    # post-hoc runs in 2 processes; a preset per data set; the probe's best checkpoint exported
    rows = _script("sequences").main([*argv, "--export", "best"])
    systems = {r["system"] for r in rows if r["data"] == "sines"}
    ours = "ours (tcn_moments, best checkpoint)"
    assert systems == {"real (disjoint half)", "shuffled steps", ours}
    (vowels,) = (r for r in rows if r["data"] == "japanese_vowels")
    assert 0 <= vowels["tstr_accuracy"] <= 1 and 0 <= vowels["real_accuracy"] <= 1
    assert 0 <= vowels["real_discriminative"] <= 0.5 and vowels["length_distance"] >= 0
    assert "TSTR trails the real-trained classifier by" in out.read_text()
    (mine,) = (r for r in rows if "seed" in r and r["data"] == "sines")
    assert mine["fit_s"] > 0 and 0 <= mine["discriminative"] <= 0.5 and mine["predictive"] > 0
    assert mine["exported_step"] == 2  # the smoke's 2 steps: one checkpoint, the best
    assert 0 <= mine["holdout_discriminative"] <= 0.5 and 0 <= mine["boosted_auc"] <= 1
    assert _read(out.with_suffix(".json"))["rows"] == json.loads(json.dumps(rows))
    assert "| TimeGAN (published) | 0.011 | 0.093 |" in out.read_text()
    assert f"Command: `{mine['command']}`" in out.read_text()


def test_a_sequence_report_keeps_another_runs_rows_with_their_command(tmp_path: Path) -> None:
    """sequences.py --keep: the previous JSON's rows that this run does not make again (same data,
    system and seed) are kept; each section names the commands that made its rows, and each
    system of ours gets its own mean and verdict."""
    bench = _script("sequences")
    scores = {"discriminative": 0.2, "predictive": 0.3, "accuracy": 0.7, "boosted_auc": 1.0}
    mine = {"system": "ours (tcn)", "fit_s": 9.0, "holdout_discriminative": 0.2}
    old = [{"data": d, **scores, **mine, "seed": s} for d, s in [("energy", 0), ("sines", 0)]]
    old.append({"data": "energy", "system": "real (disjoint half)", **scores})
    (tmp_path / "old.json").write_text(json.dumps({"command": "old --repeats 3", "rows": old}))
    new = {**scores, **mine, "command": "new run", "discriminative": 0.01, "repeats": 10}
    rows = [{"data": "energy", **new, "seed": 1}, {"data": "sines", **new, "seed": 0}]
    rows.append({"data": "sines", **new, "system": "ours (rnn)", "seed": 0})
    rows += bench.kept(json.loads((tmp_path / "old.json").read_text()), rows)
    made = [(r["data"], r["system"], r.get("seed"), r["command"]) for r in rows]
    assert made[3:] == [
        ("energy", "ours (tcn)", 0, "old --repeats 3"),
        ("energy", "real (disjoint half)", None, "old --repeats 3"),
    ]
    energy, sines = bench.report(rows).split("## sines")
    assert "Command: `old --repeats 3`" in energy and "Command: `new run`" in energy
    assert "Command: `old --repeats 3`" not in sines
    # Each row's post-hoc seeds: recorded, or (older rows) read from the command's --repeats.
    assert (
        "| ours (tcn), mean of 2 seeds | 0.1050 | 0.3000 | 0.7000 | 1.0000 | 9 | 3/10 |" in energy
    )
    assert "| real (disjoint half) | 0.2 | 0.3 | 0.7 | 1.0 | | 3 |" in energy
    assert (
        "Verdict: ours (tcn) is below TimeGAN's published discriminative score (0.236), not"
        in energy
    )
    assert (
        "Verdict: ours (rnn) is below TimeGAN's published discriminative score (0.011), untested"
        in sines
    )


def test_a_sequence_verdict_is_a_win_only_where_a_t_test_over_seeds_says_so() -> None:
    """A mean below the published score beats it only at one-sided p < 0.05 over the seeds
    (the sines run of 2026-12-07: p = 0.073, not a win); one seed is untested; above loses."""
    verdict = _script("sequences_report").verdict
    sines = [0.0104, 0.0104, 0.0074, 0.0073, 0.0088, 0.0128]
    assert verdict(sines, 0.011).startswith("is below TimeGAN's published discriminative score")
    assert "not significantly: 0.0095 (one-sided t-test over 6 seeds: p = 0.073;" in verdict(
        sines, 0.011
    )
    assert verdict([0.117, 0.161, 0.137], 0.236).startswith("beats")
    assert "p = 0.008)" in verdict([0.117, 0.161, 0.137], 0.236)
    assert "untested" in verdict([0.01], 0.011) and verdict([0.02, 0.03], 0.011).startswith("loses")


def test_the_sequence_outsider_detector_tells_noise_from_data_not_data_from_data() -> None:
    """sequences.py's boosted AUC: two halves of the same sines about 0.5; the same sines with
    a little step noise (flat runs and smoothness broken) caught almost always."""
    from pipeline.kinds.sequence.read import sines

    bench = _script("sequences")
    x = sines(1200).values
    same = bench.boosted_auc(x[:600], x[600:], cap=600)
    noisy = x[600:] + np.random.default_rng(0).normal(0, 0.02, x[600:].shape)
    assert same < 0.6 and bench.boosted_auc(x[:600], noisy, cap=600) > 0.9

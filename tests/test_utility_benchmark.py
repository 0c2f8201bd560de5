"""benchmarks/utility.py: its smoke mode (imbalance arms and the membership-inference attack
through the pipeline's fits) and its verdicts, which must say where ours loses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_benchmarks import _read, _script


def test_utility_smoke(tmp_path: Path) -> None:
    """Every small-data arm on 10 digits per class; every imbalance arm on penguins made
    imbalanced; the attack on the three privacy models."""
    out = tmp_path / "utility.md"
    rows = _script("utility").main(["--smoke", "--out", str(out)])
    small = {r["arm"]: r for r in rows["small"]}
    assert (
        set(small) == {"real", "classic", "synthetic", "both"} and small["real"]["per_class"] == 10
    )
    assert all(
        0 <= r["accuracy"] <= 1 and r["ratio"] in (0, 0.25, 0.5, 1, 2) for r in small.values()
    )
    assert small["real"]["ratio"] == small["classic"]["ratio"] == 0  # no samples in those arms
    # The attack on the small GAN itself: the same figure on every arm's row of the seed.
    assert len({(r["membership_auc"], r["copy_rate"]) for r in small.values()}) == 1
    assert 0 <= small["real"]["membership_auc"] <= 1 and 0 <= small["real"]["copy_rate"] <= 1
    arms = {r["arm"]: r for r in rows["imbalance"]}
    assert set(arms) == {"none", "smote", "oversampling", "ours"}
    # Each oversampler adds the share of the balancing rows its validation rows chose.
    assert arms["none"]["added"] == 0 and all(
        r["amount"] in (0, 0.25, 0.5, 1) for r in arms.values()
    )
    assert all((r["added"] > 0) == (r["amount"] > 0) for r in arms.values())
    assert arms["ours"]["minority"] == "Chinstrap" and arms["ours"]["minority_share"] < 0.1
    assert all(
        0 <= r["minority_f1"] <= 1 and 0 <= r["balanced_accuracy"] <= 1 for r in arms.values()
    )
    privacy = {r["model"]: r for r in rows["privacy"]}
    models = list(privacy)
    assert len(models) == 8 and "far too long" in models[3] and "digits" in models[6]
    assert models[7] == "digits, 100 images, trained far too long"
    assert privacy[models[7]]["train_rows"] == 100 and "copy_rate" in privacy[models[7]]
    assert privacy[models[3]]["train_rows"] == 100 and "copy_rate" in privacy[models[6]]
    assert all(0 <= r["membership_auc"] <= 1 for r in rows["privacy"])
    # The controls: a copy of the train rows is caught outright, whatever the model's steps.
    assert privacy[models[1]]["membership_auc"] > 0.9 and privacy[models[4]]["membership_auc"] > 0.9
    assert _read(out.with_suffix(".json")) == json.loads(json.dumps(rows))
    text = out.read_text()
    assert "**Smoke run**" in text and "### penguins" in text and "## Privacy" in text
    assert "## Small data" in text and "| 10 | " in text


def test_a_utility_verdict_names_what_ours_loses_to() -> None:
    """A win needs a paired t-test over the seeds at p < 0.05; a loss is said as such."""
    verdict = _script("utility_report").verdict
    won = verdict({"none": [0.5, 0.52, 0.48], "smote": [0.6, 0.61, 0.6],
                   "oversampling": [0.55, 0.56, 0.54], "ours": [0.7, 0.72, 0.69]})  # fmt: skip
    assert "beats SMOTE" in won and "beats random oversampling" in won and "p = " in won
    noisy = verdict({"none": [0.5, 0.5], "smote": [0.6, 0.2], "oversampling": [0.4, 0.4],
                     "ours": [0.3, 0.6]})  # fmt: skip
    assert "does not beat SMOTE" in noisy and "does not beat the real rows alone" in noisy
    assert "makes the forest worse than the real rows alone" in noisy
    # Per seed: ours 0.3 vs 0.5 on the first seed, 0.6 vs 0.5 on the second.
    assert "ours is below it on 1 of 2 seeds (by 0.200 at most) of the real rows alone" in noisy
    assert "worse" not in won and "never below it on any of 3 seed(s)" in won
    assert "is untested against SMOTE (+0.100, 1 seed)" in verdict(
        {"none": [0.5], "smote": [0.6], "oversampling": [0.4], "ours": [0.7]}
    )


def test_a_utility_report_of_a_half_done_seed_judges_the_seeds_every_arm_has() -> None:
    """The report is rewritten after every row: a seed whose arms are not all in yet is left
    out of the verdict, not paired with another seed's values."""
    report = _script("utility_report").report
    row = {"data": "t", "minority": "yes", "minority_share": 0.05, "added": 0, "command": "c",
           "balanced_accuracy": 0.5, "macro_f1": 0.5}  # fmt: skip
    rows = [
        {**row, "arm": a, "seed": 0, "minority_f1": f}
        for a, f in (("none", 0.1), ("smote", 0.2), ("oversampling", 0.2), ("ours", 0.3))
    ]
    rows.append({**row, "arm": "none", "seed": 1, "minority_f1": 0.1})  # seed 1 half done
    text = report({"small": [], "imbalance": rows, "privacy": []})
    assert "is untested against SMOTE (+0.100, 1 seed)" in text


def test_every_oversampler_adds_the_asked_share_of_the_balancing_rows() -> None:
    """Classes of 10, 4 and 2 rows: half the balancing rows is 3 and 4 more (hand-computed),
    the same counts from SMOTE, random oversampling and our pools (whose first rows are used)."""
    import numpy as np

    from ganmodels.tabular import imbalance as tables

    rng = np.random.default_rng(0)
    y = np.array(["a"] * 10 + ["b"] * 4 + ["c"] * 2)
    x = rng.normal(size=(16, 3))
    pools = {"a": x[:0], "b": np.full((6, 3), 7.0), "c": np.full((8, 3), 9.0)}
    for augment in (tables.oversampler("smote", 0), tables.oversampler("ros", 0),
                    tables.from_pools(pools)):  # fmt: skip
        for amount, counts in ((0.0, [10, 4, 2]), (0.5, [10, 7, 6]), (1.0, [10, 10, 10])):
            fx, fy = augment(x, y, amount)
            assert np.array_equal(fx[:16], x) and np.array_equal(fy[:16], y)
            assert [int((fy == k).sum()) for k in "abc"] == counts, (augment, amount)
    fx, fy = tables.from_pools(pools)(x, y, 0.5)
    assert (fx[16:][fy[16:] == "b"] == 7.0).all() and (fx[16:][fy[16:] == "c"] == 9.0).all()


def test_smote_leaves_a_class_of_one_row_as_it_is() -> None:
    """SMOTE interpolates between a row and its class's neighbours: a class of one row has
    none, so it is left alone (not a crash in evaluate after training); the others grow."""
    import numpy as np

    from ganmodels.tabular.imbalance import oversampler

    y = np.array(["a"] * 10 + ["b"] * 4 + ["c"])
    x = np.random.default_rng(1).normal(size=(15, 2))
    fx, fy = oversampler("smote", 0)(x, y, 1.0)
    assert [int((fy == k).sum()) for k in "abc"] == [10, 10, 1]
    fx, fy = oversampler("smote", 0)(x[10:], y[10:], 1.0)  # b: 4 rows, c: 1 row
    assert [int((fy == k).sum()) for k in "bc"] == [4, 1]

"""benchmarks/utility.py: its smoke mode (imbalance arms and the membership-inference attack
through the pipeline's fits) and its verdicts, which must say where ours loses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_benchmarks import _read, _script


def test_utility_smoke(tmp_path: Path) -> None:
    """Every arm on penguins made imbalanced; the attack on the three privacy models."""
    out = tmp_path / "utility.md"
    rows = _script("utility").main(["--smoke", "--out", str(out)])
    arms = {r["arm"]: r for r in rows["imbalance"]}
    assert set(arms) == {"none", "smote", "oversampling", "ours"}
    assert arms["none"]["added"] == 0 and arms["ours"]["added"] == arms["smote"]["added"] > 0
    assert arms["ours"]["minority"] == "Chinstrap" and arms["ours"]["minority_share"] < 0.1
    assert all(
        0 <= r["minority_f1"] <= 1 and 0 <= r["balanced_accuracy"] <= 1 for r in arms.values()
    )
    models = [r["model"] for r in rows["privacy"]]
    assert len(models) == 3 and "far too long" in models[1] and "digits" in models[2]
    assert rows["privacy"][1]["train_rows"] == 100 and "copy_rate" in rows["privacy"][2]
    assert all(0 <= r["membership_auc"] <= 1 for r in rows["privacy"])
    assert _read(out.with_suffix(".json")) == json.loads(json.dumps(rows))
    text = out.read_text()
    assert "**Smoke run**" in text and "### penguins" in text and "## Privacy" in text


def test_a_utility_verdict_names_what_ours_loses_to() -> None:
    verdict = _script("utility_report").verdict
    assert "beats SMOTE and random oversampling." in verdict(
        {"none": 0.5, "smote": 0.6, "oversampling": 0.6, "ours": 0.7}
    )
    said = verdict({"none": 0.5, "smote": 0.6, "oversampling": 0.4, "ours": 0.45})
    assert "does not beat SMOTE or real rows alone" in said and "worse than the real rows" in said

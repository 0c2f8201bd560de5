"""A table through the same Ray Train loop as images: 2 DDP workers, CTGAN recipe."""

from __future__ import annotations

import math
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest

from ganmodels.tabular.sampling import table_sampler_from_state
from pipeline import paths
from pipeline.augment import augment, synthetic_counts
from pipeline.config import load_params
from pipeline.kinds.tabular.evaluate import evaluate_table
from pipeline.kinds.tabular.metrics import summary_line
from pipeline.kinds.tabular.read import read_table
from pipeline.kinds.tabular.shards import load_table_split
from pipeline.prepare import prepare
from pipeline.register import register
from pipeline.tracking import active_tracking, client, tracking_uri
from pipeline.train import fit, write_outputs
from tests.helpers import BABY, write_params

TABLE = {
    "data": {"kind": "tabular", "source": "penguins", "label": "species"},
    "model": {"preset": "ctgan", "g_channels": 64, "d_channels": 64},
    "train": {"batch_size": 100, "steps": 40, "checkpoint_every": 20, "log_every": 10},
}


def test_two_workers_train_a_table_that_samples_evaluates_and_serves(tmp_path: Path) -> None:
    # Long: one 2-worker training, then every use of its export (split, each would retrain).
    params = load_params(write_params(tmp_path / "params.yaml", BABY, TABLE))
    prepared = tmp_path / "prepared"
    prepare(params.data, prepared, tmp_path)
    result, state = fit(params, tmp_path, prepared)
    assert result.step == 40 and params.train.num_workers == 2
    assert all(math.isfinite(result.final_metrics[k]) for k in ("loss/D_main", "loss/G_main"))
    assert state["model_config"]["architecture"] == "ctgan" and state["model_config"]["pac"] == 10

    # The export rebuilds from ganmodels alone: the transformer travels in the model config.
    sampler = table_sampler_from_state({"model_config": state["model_config"],
                                        "state_dict": state["G_ema"]})  # fmt: skip
    # params.yaml's model.label_raking travels in the export: species crossed with each column.
    assert sampler.crossed["label"] == "species" and sampler.raking is not None
    sample = sampler.sample(200, seed=0)
    source = read_table("penguins", tmp_path)
    assert list(sample.columns) == list(source.columns)
    assert sample.dtypes.to_dict() == source.dtypes.to_dict()
    assert set(sample["species"].dropna()) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert sample.equals(sampler.sample(200, seed=0))  # same seed, same rows

    # Conditional sampling: every row has the asked value, also for a rare level and a value
    # given as text (year is an integer categorical; "2008" means 2008).
    for column, value in (("island", "Torgersen"), ("year", "2008"), ("species", "Chinstrap")):
        rows = sampler.sample(150, seed=1, column=column, value=value)
        assert len(rows) == 150 and (rows[column].astype(str) == value).all()
    with pytest.raises(ValueError, match=r"cannot condition on 'bill_length_mm'"):
        sampler.sample(5, 0, column="bill_length_mm", value=40.0)

    # The evaluate core: G's scores against the holdout beside real rows' (the ceiling).
    holdout = load_table_split(prepared, "holdout")
    # Chinstrap is 20% of the rows: evaluate.imbalanced_below 0.25 calls the label unbalanced.
    metrics, fake = evaluate_table(
        sampler,
        load_table_split(prepared, "train"),
        load_table_split(prepared, "validation"),
        holdout,
        "species",
        200,
        0,
        0.25,
    )
    assert len(fake) == metrics["num_samples"] == 200 and metrics["holdout_rows"] == len(holdout)
    assert set(metrics["per_column"]) == set(source.columns)
    for key in ("quality_score", "column_shapes", "pair_trends", "detection_auc"):
        assert 0.0 <= metrics[key] <= 1.0
    # The mean of the two unrounded scores: within rounding of the mean of the rounded ones.
    mean = (metrics["column_shapes"] + metrics["pair_trends"]) / 2
    assert abs(metrics["quality_score"] - mean) <= 1e-4
    assert metrics["real_column_shapes"] > 0.85 and metrics["real_detection_auc"] < 0.7
    assert metrics["real_column_shapes"] > metrics["column_shapes"]  # 40 steps: far from real
    assert 0.0 <= metrics["ml_efficacy"]["f1_synthetic"] <= 1.0
    assert metrics["ml_efficacy"]["f1_real"] > 0.9  # species is easy from the measurements
    assert 0.0 <= metrics["membership_auc"] <= 1.0  # ganmodels/privacy.py: tests/test_privacy.py
    # Augmentation gain (tests/test_utility.py): its real-only forest fits the train and
    # validation rows; the ratio is chosen on the validation rows, which G never trained on.
    gain = metrics["augmentation"]
    assert gain["real"] > 0.9 and gain["ratio"] in (0, 0.25, 0.5, 1, 2)
    assert gain["validation_rows"] == len(load_table_split(prepared, "validation")) > 0
    assert gain["gain"] == pytest.approx(gain["augmented"] - gain["real"], abs=2e-4)
    # Ours against SMOTE and random oversampling (ganmodels/tabular/imbalance.py): each adds the
    # share of the balancing rows its validation rows chose; the real-only forest (train and
    # validation rows) is the augmentation gain's.
    arms = metrics["imbalance"]
    assert list(arms["minority"]) == ["Chinstrap"] and 0.15 < arms["minority"]["Chinstrap"] < 0.25
    assert arms["none"]["macro_f1"] == gain["real"]
    held = load_table_split(prepared, "validation")["species"]
    assert arms["validation"] == {"rows": len(held), "minority_rows": (held == "Chinstrap").sum()}
    for arm in ("none", "smote", "oversampling", "ours"):
        assert arms[arm]["amount"] in (0, 0.25, 0.5, 1) and 0 <= arms[arm]["minority_f1"] <= 1
        assert (arms[arm]["added"] > 0) == (arms[arm]["amount"] > 0)
    assert "minority (Chinstrap) F1 + ours" in summary_line(metrics, Path("figure.png"))

    # Registered: the pyfunc returns the documented DataFrame, conditional rows included.
    uri = tracking_uri(tmp_path)
    write_outputs(result, state, uri, tmp_path)
    decision = register(
        client(uri), params.register, result.run_id, tmp_path / paths.GENERATOR, metrics, {}
    )
    assert decision.primary_metric == "quality_score" and decision.model_name == "gan-penguins"
    with active_tracking(uri):
        model = mlflow.pyfunc.load_model(decision.model_uri)
    rows = model.predict(pd.DataFrame({"n": [64], "seed": [3]}))
    assert isinstance(rows, pd.DataFrame) and len(rows) == 64
    assert rows.dtypes.to_dict() == source.dtypes.to_dict()
    asked = pd.DataFrame(
        {"n": [40], "seed": [0], "condition_column": ["sex"], "condition_value": ["female"]}
    )
    assert (model.predict(asked)["sex"] == "female").all()
    with pytest.raises(Exception, match="no level 'Emperor'"):
        model.predict(asked.assign(condition_column="species", condition_value="Emperor"))

    # gan augment's core: every real row but the holdout (train, then validation) plus
    # samples, the smallest species filled first, marked.
    manifest = augment(model, prepared, 0.5, "equal", 0, tmp_path / "aug.parquet")
    train = pd.concat([load_table_split(prepared, s) for s in ("train", "validation")])
    aug = pd.read_parquet(tmp_path / "aug.parquet")
    assert len(aug) == len(train) + round(0.5 * len(train)) and aug["synthetic"].dtype == bool
    real = aug[~aug["synthetic"]].drop(columns="synthetic").reset_index(drop=True)
    pd.testing.assert_frame_equal(real, train.reset_index(drop=True), check_dtype=False)
    names = list(manifest["classes"])  # the label's levels, in prepare's order
    have = [int((train["species"] == k).sum()) for k in names]
    want = synthetic_counts(have, round(0.5 * len(train)), "equal")
    added = aug[aug["synthetic"]]["species"].value_counts()
    assert [int(added.get(k, 0)) for k in names] == want and sum(want) > 0
    assert manifest["classes"][names[0]] == {"real": have[0], "synthetic": want[0]}
    assert (tmp_path / "aug.parquet.manifest.json").is_file()

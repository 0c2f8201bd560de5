"""The label crossed with each column (ganmodels/tabular/label_shares.py): kept at prepare, and a
sampler with label_raking draws the label's relation to the other columns at the train rows'
shares, tails included, where plain raking leaves it to G."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ganmodels.tabular.conditions import ConditionLayout
from ganmodels.tabular.label_shares import QUANTILES, fit_label_shares, label_codes
from ganmodels.tabular.nets import TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import TableSampler
from ganmodels.tabular.transformer import TableTransformer
from pipeline.kinds.tabular.read import infer_schema


def _table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """`deny` is mostly "yes" in the top 5% of `ratio` (a tail relation), rare elsewhere."""
    rng = np.random.default_rng(seed)
    ratio = np.round(rng.gamma(4.0, 0.08, n), 3)
    city = rng.choice(["Oslo", "Lima", "Pune"], n, p=[0.6, 0.3, 0.1])
    top = ratio > np.quantile(ratio, 0.95)
    p_yes = np.where(top, 0.8, np.where(city == "Pune", 0.3, 0.05))
    deny = np.where(rng.random(n) < p_yes, "yes", "no")
    return pd.DataFrame({"ratio": ratio, "city": city, "deny": deny})


def _fit(df: pd.DataFrame) -> TableTransformer:
    columns = [c.to_dict() for c in infer_schema(df, "t.csv", 50, {}, "deny")]
    rules = RuleSettings(0.99, 0.01, 30, True, 0.8)
    return TableTransformer.fit(df, columns, rules=rules, label="deny")


def _tail_yes(df: pd.DataFrame, edge: float) -> float:
    """The share of "yes" among rows above the edge: what a classifier reads from the tail."""
    return float((df.loc[df["ratio"] > edge, "deny"] == "yes").mean())


def test_prepare_keeps_the_label_crossed_with_every_other_column() -> None:
    df = _table()
    t = _fit(df)
    spec = t.label_shares
    assert spec["label"] == "deny" and spec["levels"] == ["false", "true"]  # a boolean: by truth
    assert set(spec["columns"]) == {"ratio", "city"}
    assert spec["columns"]["city"]["values"] == ["Lima", "Oslo", "Pune"]
    edges = spec["columns"]["ratio"]["edges"]
    assert len(edges) == 11 and edges[-1] == np.quantile(df["ratio"], 0.98)  # finer in the tail
    for name, entry in spec["columns"].items():
        assert abs(sum(entry["shares"]) - 1) < 1e-4, name
    codes, size = label_codes(df, spec)["deny|city"]
    # (yes, Pune): the level's index times the bins, plus the bin (nulls and unseen: the last).
    want = ((df["deny"] == "yes") & (df["city"] == "Pune")).mean()
    assert abs(spec["columns"]["city"]["shares"][1 * 4 + 2] - want) < 1e-6 and size == 12
    assert TableTransformer.from_dict(t.to_dict()).label_shares == spec
    unlabeled = TableTransformer.fit(df, [c.to_dict() for c in infer_schema(df, "t.csv", 50)])
    assert unlabeled.label_shares == {}


def test_a_label_raking_sampler_draws_the_labels_tail_relation_reproducibly() -> None:
    df = _table()
    t = _fit(df)
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(1)
    cond = ConditionLayout(t.spans, False).cond_dim
    G = TabularGenerator(4, spans, cond_dim=cond, hidden=(16,)).eval()  # untrained: no relation
    edge = float(np.quantile(df["ratio"], 0.95))
    real = _tail_yes(df, edge)
    assert real > 0.7
    plain = TableSampler(G, t, calibrate=True).sample(6000, seed=3)
    crossed = TableSampler(G, t, calibrate=True, label_raking=True)
    drawn = crossed.sample(6000, seed=3)
    assert abs(_tail_yes(plain, edge) - real) > 0.3  # the label's own share only
    assert abs(_tail_yes(drawn, edge) - real) < 0.12  # within sampling error and the weight cap
    yes = (df["deny"] == "yes").mean()
    assert abs((drawn["deny"] == "yes").mean() - yes) < 0.03  # the plain shares still hold
    again = TableSampler(G, t, calibrate=True, label_raking=True).sample(6000, seed=3)
    pd.testing.assert_frame_equal(drawn, again)
    # Off without calibration: label_raking only adds margins to the raking.
    assert not TableSampler(G, t, label_raking=True).crossed


def test_booleans_bin_by_truth_and_datetimes_by_time_whatever_their_form() -> None:
    """A boolean's spellings are one level each way, as encoding reads them; a datetime is
    binned by its time, as text in the file or as decoded datetimes."""
    rng = np.random.default_rng(0)
    n = 600
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df = pd.DataFrame({
        "deny": rng.choice(["no", "yes"], n),
        "owner": rng.choice(["Yes", "yes ", "y", "No", "n"], n),
        "opened": when.strftime("%Y-%m-%d"),
    })  # fmt: skip
    columns = [{"name": "deny", "kind": "boolean"}, {"name": "owner", "kind": "boolean"},
               {"name": "opened", "kind": "datetime"}]  # fmt: skip
    spec = fit_label_shares(df, columns, "deny")
    assert spec["levels"] == ["false", "true"] and spec["columns"]["owner"]["values"] == [
        "false", "true"]  # fmt: skip
    assert len(spec["columns"]["opened"]["edges"]) == len(QUANTILES)
    decoded = df.assign(owner=df["owner"].str.strip().str.lower().str[0] == "y",
                        opened=pd.to_datetime(df["opened"]).astype("datetime64[us]"))  # fmt: skip
    for key, (code, _) in label_codes(df, spec).items():
        assert (code == label_codes(decoded, spec)[key][0]).all(), key
    shares = np.asarray(spec["columns"]["opened"]["shares"]).reshape(3, -1)
    assert shares[:, -1].sum() == 0 and abs(shares[:, 0].sum() - 0.1) < 0.02  # deciles, no nulls

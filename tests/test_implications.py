"""Implications between exact values (ganmodels/tabular/implications.py): found at prepare
only where the data holds them, written to transformer.json, applied by G and by decoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from ganmodels.tabular.nets import TabularGenerator
from pipeline.kinds.tabular.prepare import prepare_table
from pipeline.kinds.tabular.shards import TRANSFORMER, load_transformer
from tests.helpers import data_config, short_table_fit

Prepared = tuple[Any, list[dict]]  # (transformer, transformer.json's implications)
LINKED = {"hours", "earnings", "employment", "commute"}


def _jobs(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """No hours <=> no earnings <=> employment 'none' <=> no commute; city and rating free."""
    rng = np.random.default_rng(seed)
    idle = rng.random(n) < 0.3
    hours = np.where(idle, 0, rng.normal(1900, 250, n).round()).astype(np.int64)
    earnings = np.where(idle, 0, rng.lognormal(10, 0.5, n).round(-2)).astype(np.int64)
    employment = np.where(idle, "none", rng.choice(["full", "part"], n))
    commute = pd.Series(rng.integers(5, 60, n), dtype="Int64").mask(idle)
    return pd.DataFrame({"hours": hours, "earnings": earnings, "employment": employment,
                         "commute": commute, "city": rng.choice(["Oslo", "Lima", "Pune"], n),
                         "rating": rng.integers(1, 15, n)})  # fmt: skip


def _prepare(tmp_path: Path, **overrides: object) -> Prepared:
    (tmp_path / "out").mkdir(parents=True)
    _jobs().to_csv(tmp_path / "t.csv", index=False)
    cfg = data_config(kind="tabular", source="t.csv", **overrides)
    prepare_table(cfg, tmp_path / "out", tmp_path)
    state = json.loads((tmp_path / "out" / TRANSFORMER).read_text())
    return load_transformer(tmp_path / "out"), state["implications"]


def _holds(rows: pd.DataFrame) -> None:
    """Every row keeps the table's implications."""
    idle = rows["hours"] == 0
    assert (rows["earnings"][idle] == 0).all()
    assert (rows["employment"][idle] == "none").all()
    assert rows["commute"][idle].isna().all()
    none = rows["employment"] == "none"
    assert (rows["hours"][none] == 0).all() and rows["commute"][none].isna().all()


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The jobs table prepared once with the default data.implication_share."""
    return _prepare(tmp_path_factory.mktemp("jobs"))


def test_prepare_finds_the_implications_the_data_holds_and_no_others(
    jobs: Prepared, tmp_path: Path
) -> None:
    t, found = jobs
    pairs = {(r["if"]["column"], r["then"]["column"]) for r in found}
    # Only the linked columns: 2,000 rows of three cities and 14 ratings hold none by chance.
    assert {c for pair in pairs for c in pair} <= LINKED
    sides = [(r["if"], r["then"]) for r in found]
    zero = {"column": "hours", "value": 0}
    assert (zero, {"column": "earnings", "value": 0}) in sides
    assert (zero, {"column": "commute", "null": True}) in sides
    assert ({"column": "employment", "value": "none"}, zero) in sides
    assert all(r["share"] >= 0.99 and r["rows"] >= 20 for r in found)
    assert len(t.rule_positions) == len(found)
    _, off = _prepare(tmp_path, implication_share=0.0)
    assert off == []
    with pytest.raises(ValueError, match="must be 0 \\(off\\) or above 0.5"):
        data_config(kind="tabular", source="t.csv", implication_share=0.3)


def test_any_generator_output_decodes_to_rows_that_keep_them(jobs: Prepared) -> None:
    t, _ = jobs
    noise = np.random.default_rng(1).uniform(-3, 3, (5000, t.width))
    rows = t.inverse_transform(noise)
    assert (rows["hours"] == 0).mean() > 0.05  # premises do occur in the noise
    _holds(rows)
    real = _jobs()
    back = t.inverse_transform(t.transform(real))  # real rows keep them already: unchanged
    assert back["employment"].equals(real["employment"]) and back["hours"].equals(real["hours"])


def test_g_applies_them_softly_and_differentiably(jobs: Prepared) -> None:
    t, _ = jobs
    spans = [(s.activation, s.width) for s in t.spans]
    torch.manual_seed(0)
    G = TabularGenerator(8, spans, hidden=(16,), implications=t.rule_positions)
    z = torch.randn(400, 8)
    rows = G(z, generator=torch.Generator().manual_seed(0))
    starts = np.cumsum([0] + [w for _, w in spans])
    *_, (premise, then) = t.rule_positions  # the last: no later one moves its premise
    p = torch.ones(400)
    for span, i in premise:
        p = p * rows[:, starts[span] + i]
    for span, i in then:  # the consequence is at least as likely as its premise
        assert (rows[:, starts[span] + i] >= p - 1e-6).all()
    rows.sum().backward()  # and gradients reach G through them
    assert all(param.grad is not None for param in G.parameters())


def test_a_short_fit_keeps_them_at_the_datas_shares(jobs: Prepared) -> None:
    t, _ = jobs
    df = _jobs()
    rows = short_table_fit(t, df, 300, d_hidden=(256, 256), dropout=0.5)
    _holds(rows)
    assert abs((rows["hours"] == 0).mean() - 0.3) < 0.1


def _one_by_one(G: TabularGenerator, rows: torch.Tensor) -> torch.Tensor:
    """The implications applied in order, one at a time (what G's batches must equal)."""
    widths = [w for _, w in G.spans]
    parts = list(torch.split(rows, widths, dim=1))
    for premise, then in G.implications:
        p = torch.ones_like(rows[:, :1])
        for span, i in premise:
            p = p * parts[span][:, i : i + 1]
        for span, i in then:
            target = torch.zeros_like(parts[span])
            target[:, i] = 1.0
            parts[span] = p * target + (1 - p) * parts[span]
    return torch.cat(parts, dim=1)


def test_g_applies_them_in_batches_as_one_by_one(jobs: Prepared) -> None:
    t, _ = jobs
    rng = np.random.default_rng(0)  # and a tangle: chains, shared values, clashing values
    tangle = []
    for _ in range(40):
        a, b, c = rng.choice(5, 3, replace=False)
        premise = [[int(a), int(rng.integers(3))]] + [[int(c), 1]] * int(rng.random() < 0.3)
        tangle.append([premise, [[int(b), int(rng.integers(3))]]])
    table = [(s.activation, s.width) for s in t.spans]
    for spans, rules in ((table, t.rule_positions), ([("softmax", 3)] * 5, tangle)):
        G = TabularGenerator(4, spans, hidden=(8,), implications=rules)
        assert G._batches < len(rules)  # batched, not one rule per batch
        raw = torch.randn(300, sum(w for _, w in spans), dtype=torch.float64) * 3
        rows = G.double().activate(raw, torch.Generator().manual_seed(1))
        plain = TabularGenerator(4, spans, hidden=(8,))  # the activations alone
        alone = plain.activate(raw, torch.Generator().manual_seed(1))
        assert torch.allclose(rows, _one_by_one(G, alone), atol=1e-12)
        assert not torch.allclose(rows, alone)  # and they did move rows


def test_a_premise_under_one_percent_of_the_rows_is_found(tmp_path: Path) -> None:
    # psid: 27 of 3,108 rows "no histories", every one with kids 99; a classifier of the
    # status reads exactly this, so G must keep it (a premise needs 20 rows, not 1%).
    rng = np.random.default_rng(0)
    n, rare = 3000, 25
    status = np.where(np.arange(n) < rare, "no histories", rng.choice(["married", "single"], n))
    kids = np.where(status == "no histories", 99, rng.integers(0, 6, n))
    (tmp_path / "out").mkdir()
    pd.DataFrame({"status": status, "kids": kids}).to_csv(tmp_path / "t.csv", index=False)
    # No validation share: the 20 train rows of the premise are the point.
    cfg = data_config(kind="tabular", source="t.csv", validation_fraction=0.0)
    prepare_table(cfg, tmp_path / "out", tmp_path)
    found = json.loads((tmp_path / "out" / TRANSFORMER).read_text())["implications"]
    sides = [(r["if"], r["then"]) for r in found]
    assert ({"column": "status", "value": "no histories"}, {"column": "kids", "value": 99}) in sides

"""CTGAN-style networks: span activations, reproducible Gumbel noise, PacGAN packing, the
per-pack gradient penalty, and a short WGAN-GP fit that learns a mixed table's marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ganmodels.regularizers import gradient_penalty
from ganmodels.tabular.conditions import Conditioner, ConditionSampler, column_shares
from ganmodels.tabular.nets import PacDiscriminator, TabularGenerator
from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.sampling import MAX_ROUNDS, TableSampler
from ganmodels.tabular.transformer import TableTransformer
from tests.helpers import short_table_fit

STEPS = 400
SPANS = [("tanh", 1), ("softmax", 3), ("softmax", 2), ("tanh", 1)]


def test_generator_applies_each_spans_activation_reproducibly() -> None:
    torch.manual_seed(0)
    G = TabularGenerator(8, SPANS, cond_dim=4, hidden=(16, 16)).eval()
    z, cond = torch.randn(32, 8), torch.eye(4)[torch.arange(32) % 4]
    out = G(z, cond, generator=torch.Generator().manual_seed(1))
    assert out.shape == (32, 7)
    assert out[:, [0, 6]].abs().max() < 1
    torch.testing.assert_close(out[:, 1:4].sum(1), torch.ones(32))
    torch.testing.assert_close(out[:, 4:6].sum(1), torch.ones(32))
    again = G(z, cond, generator=torch.Generator().manual_seed(1))
    other = G(z, cond, generator=torch.Generator().manual_seed(2))
    assert torch.equal(out, again) and not torch.equal(out[:, 1:6], other[:, 1:6])
    with pytest.raises(ValueError, match=r"condition vector of shape \[32, 4\]"):
        G(z)


def test_the_one_hot_spans_are_gumbel_softmaxed_as_one_span_at_a_time() -> None:
    G = TabularGenerator(8, SPANS, hidden=(16,))
    raw = torch.randn(64, 7) * 3
    got = G.activate(raw, torch.Generator().manual_seed(4))
    gen, parts, at = torch.Generator().manual_seed(4), [], 0
    for activation, width in SPANS:  # the definition: each span's noise drawn in turn
        piece = raw[:, at : at + width]
        if activation == "tanh":
            parts.append(torch.tanh(piece))
        else:
            u = torch.rand(piece.shape, generator=gen).clamp(1e-10, 1 - 1e-7)
            parts.append(torch.softmax((piece - torch.log(-torch.log(u))) / G.tau, dim=1))
        at += width
    torch.testing.assert_close(got, torch.cat(parts, dim=1))


def test_pac_discriminator_scores_packs_and_the_penalty_is_per_pack() -> None:
    torch.manual_seed(0)
    D = PacDiscriminator(7, pac=10, hidden=(16,)).eval()
    rows = torch.randn(40, 7)
    logits = D(rows)
    assert logits.shape == (4,)
    changed = rows.clone()
    changed[25] += 1.0  # a row of the third pack
    moved = (D(changed) != logits).tolist()
    assert moved == [False, False, True, False]
    with pytest.raises(ValueError, match="divisible by pac=10"):
        D(rows[: 45 - 10 + 3])

    real, fake = torch.randn(40, 7), torch.randn(40, 7)
    alpha = torch.rand(40)
    gp = gradient_penalty(D, real, fake, alpha=alpha, pack=10)
    x_hat = (alpha[:, None] * real + (1 - alpha[:, None]) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat)
    want = (grad.reshape(4, 70).norm(dim=1) - 1).square()
    assert gp.shape == (4,)
    torch.testing.assert_close(gp, want)


def test_a_short_wgan_gp_fit_learns_a_mixed_tables_marginals() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.3, rng.normal(-4, 0.5, n), rng.normal(4, 0.5, n)),
            "c": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    cols = [
        {"name": "x", "kind": "continuous", "nullable": False, "dtype": "float64"},
        {"name": "c", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["a", "b", "c"]},
    ]  # fmt: skip
    t = TableTransformer.fit(df, cols, max_modes=5)
    sample = short_table_fit(t, df, STEPS, d_hidden=(64, 64), dropout=0.0)
    share = sample["c"].value_counts(normalize=True)
    assert abs(share.get("a", 0) - 0.6) < 0.1 and abs(share.get("b", 0) - 0.3) < 0.1
    low = (sample["x"] < 0).mean()  # both modes, in about the right proportion
    assert 0.15 < low < 0.45
    assert abs(sample["x"][sample["x"] > 0].mean() - 4) < 1.0


def test_training_by_sampling_follows_log_frequency_and_matches_rows() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 1000),
            "c": np.repeat(["common", "mid", "rare"], [900, 90, 10]),
            "b": rng.choice(["u", "v"], 1000),
        }
    )
    cols = [
        {"name": "x", "kind": "continuous", "nullable": False, "dtype": "float64"},
        {"name": "c", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["common", "mid", "rare"]},
        {"name": "b", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["u", "v"]},
    ]  # fmt: skip
    t = TableTransformer.fit(df, cols, max_modes=3)
    rows = t.transform(df)
    sampler = ConditionSampler(rows, t.spans)
    assert sampler.columns == ["c", "b"] and sampler.cond_dim == 5

    cond, picked, levels = sampler.train_conditions(30_000, np.random.default_rng(1))
    on_c = levels[picked == 0]
    assert abs((picked == 0).mean() - 0.5) < 0.02  # a column uniformly
    log = np.log([901, 91, 11])
    np.testing.assert_allclose(
        np.bincount(on_c, minlength=3) / len(on_c), log / log.sum(), atol=0.02
    )
    assert (cond.sum(1) == 1).all() and (cond[picked == 0, 2] == (on_c == 2)).all()
    # Each matching real row has the asked level.
    matched = sampler.matching_rows(picked[:500], levels[:500], np.random.default_rng(2))
    names = np.array(["common", "mid", "rare", "u", "v"])
    want = names[sampler.offsets[picked[:500]] + levels[:500]]
    got = np.where(picked[:500] == 0, df["c"].to_numpy()[matched], df["b"].to_numpy()[matched])
    assert (got == want).all()
    # train.label_share: the label column conditioned on that often, the others alike.
    favoured = ConditionSampler(rows, t.spans, column_shares(sampler.columns, "b", 0.8))
    _, picked_b, _ = favoured.train_conditions(30_000, np.random.default_rng(1))
    assert abs((picked_b == 1).mean() - 0.8) < 0.02
    with pytest.raises(ValueError, match=r"'x' is not a discrete column"):
        column_shares(sampler.columns, "x", 0.5)
    # Sampling a trained G: conditions at the data's own frequencies (from the fitted counts).
    G = TabularGenerator(8, [(s.activation, s.width) for s in t.spans], sampler.cond_dim, (16,))
    table = TableSampler(G.eval(), t)
    plain = table._conditions(30_000, np.random.default_rng(3))[:, :3]
    plain = plain[plain.sum(1) == 1]
    np.testing.assert_allclose(plain.mean(0), [0.9, 0.09, 0.01], atol=0.02)
    assert table.level_of("c", "rare") == (0, 2) and table.level_of("b", "v") == (1, 1)
    with pytest.raises(ValueError, match=r"cannot condition on 'x'"):
        table.level_of("x", 0)
    with pytest.raises(ValueError, match=r"column 'c' has no level 'gone'"):
        table.level_of("c", "gone")


class RareLevelG(torch.nn.Module):
    """Stands in for a trained G that ignores its condition: the same rows, in turn, each draw."""

    z_dim = 4

    def __init__(self, rows: np.ndarray) -> None:
        super().__init__()
        self.rows, self.draws = torch.from_numpy(rows), 0

    def forward(self, z: torch.Tensor, cond: torch.Tensor, generator=None) -> torch.Tensor:
        self.draws += 1
        return self.rows[torch.arange(len(z)) % len(self.rows)]


def test_a_condition_g_rarely_meets_is_redrawn_then_fails_saying_how_rare() -> None:
    df = pd.DataFrame({"c": ["rare"] + ["common"] * 255})  # G gives 'rare' once per 256 rows
    cols = [{"name": "c", "kind": "categorical", "nullable": False, "dtype": "str",
             "categories": ["common", "rare"]}]  # fmt: skip
    t = TableTransformer.fit(df, cols)
    G = RareLevelG(t.transform(df))
    table = TableSampler(G, t)
    rows = table.sample(20, seed=0, column="c", value="rare")  # one a round of 256 draws
    assert len(rows) == 20 and (rows["c"] == "rare").all() and G.draws == 20
    G.draws = 0
    with pytest.raises(
        ValueError,
        match=rf"only {MAX_ROUNDS} of {MAX_ROUNDS * 256} rows drawn with c == 'rare' had that "
        r"value \(needed 100\): the generator rarely produces it",
    ):
        table.sample(100, seed=0, column="c", value="rare")
    assert G.draws == MAX_ROUNDS == 50


def test_conditional_loss_is_low_only_when_g_gives_the_asked_level() -> None:
    df = pd.DataFrame({"c": ["a", "b", "c"] * 20, "d": ["u", "v"] * 30})
    cols = [
        {"name": "c", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["a", "b", "c"]},
        {"name": "d", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["u", "v"]},
    ]  # fmt: skip
    t = TableTransformer.fit(df, cols)
    cond = Conditioner(ConditionSampler(t.transform(df), t.spans), t.spans)
    vectors, asked = cond.sample(64, torch.Generator().manual_seed(0))
    assert vectors.shape == (64, 5)
    obeying = vectors * 20 - 10  # logits laid out as the row: the asked level far ahead
    defying = -obeying
    assert cond.loss(obeying, asked) < 1e-6 < 5 < cond.loss(defying, asked)
    again, _ = cond.sample(64, torch.Generator().manual_seed(0))
    assert torch.equal(vectors, again)


def test_conditioning_on_modes_draws_real_rows_of_the_asked_heap_or_mode() -> None:
    # model.condition_modes: a numeric column's modes (its heap 0 and its mixture modes) are
    # conditioned on too, and the real rows drawn for "hours in its 0 heap" all have hours 0.
    rng = np.random.default_rng(0)
    hours = np.where(rng.random(600) < 0.3, 0.0, rng.normal(2000, 300, 600).round())
    df = pd.DataFrame({"hours": hours, "c": rng.choice(["a", "b"], 600)})
    cols = [
        {"name": "hours", "kind": "continuous", "nullable": False, "dtype": "float64"},
        {"name": "c", "kind": "categorical", "nullable": False, "dtype": "str",
         "categories": ["a", "b"]},
    ]  # fmt: skip
    rules = RuleSettings(0.99, 0.01, 30, derived=False, support_share=0.8)
    t = TableTransformer.fit(df, cols, max_modes=3, rules=rules)
    enc = t.encoders[0]
    assert enc["heaps"] == [0.0] and sum(enc["mode_counts"]) == 600
    assert enc["mode_counts"][0] == int((hours == 0).sum())
    rows = t.transform(df)
    levels_only = ConditionSampler(rows, t.spans)
    sampler = ConditionSampler(rows, t.spans, modes=True)
    assert levels_only.columns == ["c"] and sampler.columns == ["hours", "c"]
    width = len(enc["mode_counts"])
    assert sampler.cond_dim == width + 2
    cols_, levels = np.zeros(400, np.int64), np.zeros(400, np.int64)  # hours, its heap 0
    matched = sampler.matching_rows(cols_, levels, np.random.default_rng(1))
    assert (hours[matched] == 0).all()
    # Sampling a trained G: mode conditions at the data's own mode frequencies.
    G = TabularGenerator(8, [(s.activation, s.width) for s in t.spans], sampler.cond_dim, (16,))
    table = TableSampler(G.eval(), t, modes=True)
    drawn = table._conditions(20_000, np.random.default_rng(3))[:, :width]
    drawn = drawn[drawn.sum(1) == 1]
    want = np.asarray(enc["mode_counts"]) / 600
    np.testing.assert_allclose(drawn.mean(0), want, atol=0.02)
    assert len(table.sample(30, seed=0)) == 30
    with pytest.raises(ValueError, match=r"cannot condition on 'hours'.*\['c'\]"):
        table.level_of("hours", 0)


def test_an_auxiliary_classifier_learns_the_label_from_the_other_columns_only() -> None:
    # model.aux_classifier (CTAB-GAN): D's classifier predicts the label from the other columns;
    # G is then penalised for a row whose label its other columns contradict.
    rng = np.random.default_rng(0)
    hint = rng.choice(["x", "y"], 400)
    df = pd.DataFrame({"hint": hint, "label": np.where(hint == "x", "a", "b")})
    cols = [
        {"name": n, "kind": "categorical", "nullable": False, "dtype": "str", "categories": c}
        for n, c in (("hint", ["x", "y"]), ("label", ["a", "b"]))
    ]
    t = TableTransformer.fit(df, cols)
    rows = torch.from_numpy(t.transform(df))
    torch.manual_seed(0)
    D = PacDiscriminator(4, pac=10, hidden=(16,), label=(2, 2, 16))
    cond = Conditioner(ConditionSampler(rows.numpy(), t.spans), t.spans, (2, 2), 1.0)
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        cond.discriminator_loss(D, rows).backward()
        opt.step()
    assert cond.discriminator_loss(D, rows) < 0.05
    # The label's own span is hidden from it: flipping it leaves the prediction as it was.
    flipped = rows.clone()
    flipped[:, 2:4] = 1 - flipped[:, 2:4]
    torch.testing.assert_close(D(flipped, classify=True), D(rows, classify=True))
    assert cond._label_loss(D, flipped) > 3  # rows whose label contradicts their hint
    no_aux = Conditioner(ConditionSampler(rows.numpy(), t.spans), t.spans)
    assert no_aux.discriminator_loss(D, rows) is None
    with pytest.raises(ValueError, match="no label classifier"):
        PacDiscriminator(4, pac=10, hidden=(16,))(rows, classify=True)

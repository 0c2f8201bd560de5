"""The sequence metrics against cases whose answer is known: two samples of the same data score
about 0 discriminative, shuffled time steps score high; hand-computed shape errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganmodels.metrics import frechet_distance
from ganmodels.sequence import metrics as m
from ganmodels.sequence.encoder import encode, encoder_from_state, fit_encoder
from ganmodels.sequence.scaling import Scaling
from pipeline.kinds.sequence.read import EMBEDDED

SPEC = m.PostHoc(steps=300)


@pytest.fixture(scope="module")
def sines() -> np.ndarray:
    """TimeGAN's sines in model space [1000, 24, 5 + 1]."""
    values = EMBEDDED["sines"]().values
    return Scaling.fit(values).to_model(values)


def test_discriminative_score_tells_shuffled_steps_but_not_the_same_data(sines: np.ndarray) -> None:
    a, b = torch.from_numpy(sines[:500]), torch.from_numpy(sines[500:])
    same = [m.discriminative(a, b, SPEC, seed)[0] for seed in range(2)]
    shuffled = torch.from_numpy(m.shuffled_steps(sines[500:], 0))
    score, accuracy = m.discriminative(a, shuffled, SPEC, 0)
    assert np.mean(same) < 0.08, same  # two samples of one distribution: chance
    assert score > 0.3 and accuracy > 0.8  # no temporal structure: caught


def test_predictive_score_is_lower_when_trained_on_real_than_on_shuffled(sines: np.ndarray) -> None:
    train, test = torch.from_numpy(sines[:800]), torch.from_numpy(sines[800:])
    real = m.predictive(train, test, SPEC, 0)
    shuffled = m.predictive(torch.from_numpy(m.shuffled_steps(sines[:800], 0)), test, SPEC, 0)
    assert real < 0.6 * shuffled, (real, shuffled)
    timegan = m.predictive(train, test, SPEC, 0, last_channel=True)  # TimeGAN's target
    assert 0 < timegan < 1


def test_tstr_classification_learns_labels_that_are_in_the_series(sines: np.ndarray) -> None:
    labels = torch.from_numpy(
        (sines[:, :, 0].mean(1) > np.median(sines[:, :, 0].mean(1))).astype(np.int64)
    )
    x = torch.from_numpy(sines)
    accuracy = m.classification(x[:800], labels[:800], x[800:], labels[800:], 2, SPEC, 0)
    assert accuracy > 0.85


def _model(values: np.ndarray) -> np.ndarray:
    """[N, T, C] with NaN tails -> model space (no scaling: values as given)."""
    return Scaling(np.full(values.shape[2], -1.0), np.full(values.shape[2], 1.0)).to_model(values)


def test_shape_errors_match_hand_computed_cases() -> None:
    alternating = _model(np.array([[1.0, -1.0, 1.0, -1.0]]).reshape(1, 4, 1))
    # centred sum of x_t x_{t+1} = -3 over sum of x_t^2 = 4
    assert m.autocorrelation(alternating, 1)[0, 0] == pytest.approx(-0.75)
    t = np.linspace(0, 1, 20)
    full = np.stack([np.stack([t, t, -t], axis=1) * 0.5] * 3)
    corr = m.correlation(_model(full))
    assert corr[0, 1] == pytest.approx(1.0) and corr[0, 2] == pytest.approx(-1.0)
    short = full.copy()
    short[:, 10:] = np.nan
    errors = m.shape_errors(_model(full), _model(short))
    assert errors["length_distance"] == pytest.approx(10 / 20)  # every length 20 vs 10
    assert errors["correlation_error"] == pytest.approx(0.0, abs=1e-9)


def test_value_ks_matches_hand_computed_cases(sines: np.ndarray) -> None:
    """The checkpoint probe's score: per-(step, channel) KS of the values that exist, plus
    the lengths' KS; blind to anything past a sequence's end and to monotone rescaling."""
    ramp = np.arange(4.0).reshape(4, 1, 1) * np.ones((1, 3, 2))  # 4 sequences, 3 steps
    assert m.value_ks(_model(ramp), _model(ramp + 2)) == pytest.approx(0.5)  # {0..3} vs {2..5}
    assert m.value_ks(_model(np.exp(ramp)), _model(np.exp(ramp + 2))) == pytest.approx(0.5)
    short = ramp.copy()
    short[2:, 2:] = np.nan  # half the sequences end a step early
    garbage = _model(short)
    garbage[2:, 2, :-1] = 99.0  # values past the end: not part of the sample
    # The steps that exist agree (step 2: {0, 1} against {0..3}: KS 0.5, 1 of 3 steps), and
    # half the lengths differ: KS 0.5.
    assert m.value_ks(_model(ramp), garbage) == pytest.approx(0.5 / 3 + 0.5)
    # Two halves of one data set: near 0; one channel's values moved: far.
    same = m.value_ks(sines[:500], sines[500:])
    moved = sines[500:].copy()
    moved[..., 0] = -moved[..., 0]
    assert same < 0.08 and m.value_ks(sines[:500], moved) > same + 0.1


def test_shuffled_steps_keep_each_steps_values_and_the_lengths() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 8, 2))
    values[::3, 5:] = np.nan
    x = _model(values)
    y = m.shuffled_steps(x, 1)
    assert (y[..., -1] == x[..., -1]).all()
    for step in range(8):
        assert sorted(map(tuple, y[:, step])) == sorted(map(tuple, x[:, step]))
    assert not np.array_equal(x, y)


def test_fd_in_the_encoders_features_tells_shuffled_steps_and_survives_a_save(
    sines: np.ndarray, tmp_path: Path
) -> None:
    x = torch.from_numpy(sines)
    enc, loss = fit_encoder(x[:600], None, 0, 16, 3, 0)  # unlabelled: a next-step predictor
    assert np.isfinite(loss)
    a, b = encode(enc, x[600:800]).numpy(), encode(enc, x[800:]).numpy()
    shuffled = encode(enc, torch.from_numpy(m.shuffled_steps(sines[800:], 0))).numpy()
    assert frechet_distance(a, b) < 0.2 * frechet_distance(a, shuffled)
    torch.save({"config": enc.config, "state_dict": enc.state_dict()}, tmp_path / "enc.pt")
    back = encoder_from_state(torch.load(tmp_path / "enc.pt", weights_only=True))
    assert torch.equal(encode(back, x[:50]), encode(enc, x[:50]))
    labels = torch.from_numpy((sines[:, 0, 0] > np.median(sines[:, 0, 0])).astype(np.int64))
    labelled, _ = fit_encoder(x[:600], labels[:600], 2, 16, 3, 0)  # a classifier of labels
    assert labelled.head.out_features == 2 and encode(labelled, x[:5]).shape == (5, 32)


def test_long_sequences_are_pooled_over_the_steps_that_exist() -> None:
    """The post-hoc GRUs' input for long sequences: window means over existing steps (a
    window with any step exists); short sequences, or max_steps 0, stay as they are."""
    from ganmodels.sequence.metrics import pooled

    x = torch.zeros(1, 7, 2)
    x[0, :5, 0] = torch.tensor([1.0, 3, 5, 7, 9])
    x[0, :5, 1] = 1  # 5 steps exist, then 2 after the end
    out = pooled(x, 4)  # windows of ceil(7 / 4) = 2 steps
    torch.testing.assert_close(out[0, :, 0], torch.tensor([2.0, 6, 9, 0]))
    torch.testing.assert_close(out[0, :, 1], torch.tensor([1.0, 1, 1, 0]))
    assert pooled(x, 7) is x and pooled(x, 0) is x

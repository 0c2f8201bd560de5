"""Sequence networks from their model config: G's noise, smoothing, polynomial curves and
derived channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.config import ConfigError, load_params
from pipeline.prepare import prepare
from tests.helpers import write_params


def test_model_step_noise_and_smoothing_reach_the_generator(tmp_path: Path) -> None:
    """model.step_noise reaches G (0: every step from z alone, for smooth signals); null keeps
    the architecture's own (rnn 4, tcn one per channel). model.smoothing (rnn_smooth: 2) runs
    [1, 2, 1] / 4 over G's output that many times, the ends repeated; model.polynomial reaches
    G too."""
    from ganmodels.sequence.nets import build_generator, smoothed
    from pipeline.kinds.sequence.model_config import model_config

    x = torch.tensor([[[0.0], [4.0], [0.0], [8.0]]])  # padded: 0 0 4 0 8 8
    assert smoothed(x, 1)[0, :, 0].tolist() == [1.0, 2.0, 3.0, 6.0] and smoothed(x, 0) is x
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(40, 6, 3)))
    data = {"kind": "sequence", "source": str(tmp_path / "x.npy")}
    for preset, noise, per_step, passes in (
        ("tcn", None, 3, 0),
        ("rnn", None, 4, 0),
        ("tcn", 0, 0, 0),
        ("rnn", 0, 0, 0),
        ("rnn_smooth", None, 0, 2),
    ):
        terms = 3 if preset == "rnn" else None
        model = {"preset": preset, "conditional": False, "step_noise": noise, "polynomial": terms}
        params = load_params(write_params(tmp_path / "params.yaml", {"data": data, "model": model}))
        schema = prepare(params.data, tmp_path / f"prepared-{preset}-{noise}")
        cfg = model_config(params, schema)
        assert cfg["step_noise"] == per_step and cfg["smoothing"] == passes
        g = build_generator(cfg)
        assert g.z_dim == params.model.z_dim + 6 * per_step and g.smoothing == passes
        assert cfg["polynomial"] == g.polynomial.terms == (terms or 0)


@pytest.mark.parametrize("architecture", ["rnn", "tcn"])
def test_a_polynomial_generator_makes_curves_of_that_degree(architecture: str) -> None:
    """model.polynomial: K projects G's output onto the polynomials of degree < K over time:
    the projection keeps such polynomials exactly and removes what is orthogonal to them, so
    every sequence G makes (before its tanh) is a polynomial of degree < K in the step."""
    from ganmodels.sequence.nets import build_generator, polynomial_projection

    steps = torch.linspace(-1, 1, 20, dtype=torch.float64)
    p = polynomial_projection(20, 4).double()
    assert torch.allclose(p @ p, p, atol=1e-5) and torch.allclose(p, p.T)
    for degree in range(4):
        assert torch.allclose(p @ steps**degree, steps**degree, atol=1e-5)
    assert (p @ steps**4 - steps**4).abs().max() > 0.05  # degree 4 is not kept
    assert torch.equal(polynomial_projection(20, 0), torch.eye(20))
    residuals = []
    for terms in (4, 0):  # 0: no projection, the same weights' rough curves for contrast
        cfg = {"architecture": architecture, "z_dim": 8, "seq_len": 20, "features": 3,
               "g_channels": 16, "d_channels": 16, "polynomial": terms}  # fmt: skip
        torch.manual_seed(0)
        g = build_generator(cfg).eval()
        with torch.no_grad():
            x = g(torch.randn(16, g.z_dim))
        curves = torch.atanh(x[..., :3].double().clamp(-1 + 1e-6, 1 - 1e-6))
        residuals.append((torch.einsum("ts,nsc->ntc", p, curves) - curves).abs().max())
    assert residuals[0] < 1e-5 < 1e-2 < residuals[1]


@pytest.mark.parametrize("architecture", ["rnn", "tcn"])
def test_generators_compute_derived_channels_from_their_sources(architecture: str) -> None:
    """A derived channel is its source through the lookup table on every step of every
    sequence (and 0 after its end); gradients reach G through the source."""
    from ganmodels.sequence.derived import DerivedChannels
    from ganmodels.sequence.nets import build_generator

    curve = np.linspace(-1, 1, 9)
    derived = [
        {"channel": 2, "source": 0, "knots_x": [-1.0, 1.0], "knots_y": [1.0, -1.0]},
        {"channel": 3, "source": 1, "knots_x": curve.tolist(), "knots_y": (curve**3).tolist()},
    ]
    cfg = {"architecture": architecture, "z_dim": 8, "seq_len": 12, "features": 4,
           "g_channels": 16, "d_channels": 16, "length_counts": [[0] * 6 + [1] * 7],
           "derived": derived}  # fmt: skip
    g = build_generator(cfg)
    x = g(torch.randn(64, g.z_dim))
    mask = x[..., -1].detach()
    assert (mask.sum(1) < 12).any()  # some sequences end early
    torch.testing.assert_close(x[..., 2], -x[..., 0])
    want = np.interp(x[..., 1].detach().numpy(), curve, curve**3) * mask.numpy()
    np.testing.assert_allclose(x[..., 3].detach().numpy(), want, atol=1e-6)
    assert x[..., 1].std() > 0.01  # a live source, not a constant
    x[..., 3].sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert not DerivedChannels(derived).state_dict()  # the weights file carries no knots


def test_an_oscillator_generator_makes_lines_plus_sinusoids(tmp_path: Path) -> None:
    """model.oscillators: K makes G a bank of K sinusoids plus a line per channel, kept in
    [-1, 1] by a soft bound that leaves values more than 0.1 inside unchanged (a tanh bends
    curves long before the data's bounds) and has a gradient just outside, unlike a clamp."""
    import math

    from ganmodels.sequence.nets import build_generator
    from ganmodels.sequence.oscillators import SLOW, OscillatorGenerator, soft_bound
    from pipeline.kinds.sequence.model_config import model_config

    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(40, 12, 2)))
    data = {"kind": "sequence", "source": str(tmp_path / "x.npy")}
    model = {"preset": "rnn", "conditional": False, "oscillators": 2}
    params = load_params(write_params(tmp_path / "params.yaml", {"data": data, "model": model}))
    cfg = model_config(params, prepare(params.data, tmp_path / "prepared"))
    g = build_generator(cfg)
    assert isinstance(g, OscillatorGenerator) and g.z_dim == params.model.z_dim
    # Parameters fixed through the last layer's bias: channel 0 = 0.5 + 0.2 s + 1.5 sin(w t +
    # phi) + 0 (the second oscillator's amplitude ~0); channel 1 = -0.3 and nothing else.
    last = g.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        bias = torch.full((2, 8), -30.0)  # softplus(-30): amplitude 0
        bias[:, 0], bias[:, 1] = torch.tensor([0.5, -0.3]), torch.tensor([0.2, 0.0])
        inverse = lambda v: math.log(math.expm1(v))  # noqa: E731 - softplus^-1
        bias[0, 2], bias[0, 4], bias[0, 6] = inverse(1.5), SLOW + 0.0, math.atanh(0.25)
        last.bias.copy_(bias.flatten())
        x = g(torch.zeros(3, g.z_dim))
    t = torch.arange(12, dtype=torch.float32)
    want = 0.5 + 0.2 * torch.linspace(-1, 1, 12) + 1.5 * torch.sin(math.pi / 2 * t + math.pi / 4)
    torch.testing.assert_close(x[0, :, 0], soft_bound(want), rtol=1e-4, atol=1e-4)
    assert 0.99 < x[..., 0].max() < 1  # 1.5 + 0.7 reached for, the bound holds
    torch.testing.assert_close(x[0, :, 1], torch.full((12,), -0.3), rtol=1e-4, atol=1e-4)
    assert (x[..., -1] == 1).all()  # every length 12 in this data
    # rnn_smooth's filter on an oscillator bank would do nothing: refused at params load.
    smooth = {**model, "preset": "rnn_smooth"}
    with pytest.raises(ConfigError, match="model.oscillators replaces G's network"):
        load_params(write_params(tmp_path / "params.yaml", {"data": data, "model": smooth}))
    inside = torch.linspace(-0.75, 0.75, 31)
    assert (soft_bound(inside) - inside).abs().max() < 2e-3
    outside = torch.tensor([-1.15, 1.15], requires_grad=True)
    soft_bound(outside).sum().backward()
    assert (outside.grad > 0.04).all() and soft_bound(outside.detach()).abs().max() < 1

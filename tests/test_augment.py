"""Differentiable augmentation (DiffAugment) and the ADA probability update."""

from __future__ import annotations

import pytest
import torch

from ganmodels.augment import POLICIES, ada_update, diff_augment

SHAPES = [(3, 8), (1, 8), (3, 32), (1, 32)]


def _images(n: int, c: int, h: int, seed: int = 0) -> torch.Tensor:
    """Images in [-1, 1] with no exact zeros (so cutout and padding zeros are countable)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, h, h, generator=g) * 0.9 + 0.1
    sign = torch.where(torch.rand(n, c, h, h, generator=g) < 0.5, -1.0, 1.0)
    return x * sign


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """out[i, j] = x[i + dx, j + dy], zero outside: the reference translation."""
    h, w = x.shape[-2:]
    out = torch.zeros_like(x)
    out[..., max(0, -dx) : min(h, h - dx), max(0, -dy) : min(w, w - dy)] = x[
        ..., max(0, dx) : min(h, h + dx), max(0, dy) : min(w, w + dy)
    ]
    return out


@pytest.mark.parametrize("c,h", SHAPES)
def test_p_zero_returns_input(c: int, h: int) -> None:
    x = _images(4, c, h)
    out = diff_augment(x, POLICIES, 0.0, _gen(0))
    assert torch.equal(out, x)


@pytest.mark.parametrize("c,h", SHAPES)
@pytest.mark.parametrize("op", POLICIES)
def test_each_op_changes_images_and_keeps_shape(op: str, c: int, h: int) -> None:
    x = _images(16, c, h)
    out = diff_augment(x, [op], 1.0, _gen(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out).all()
    assert not torch.equal(out, x)


@pytest.mark.parametrize("c,h", SHAPES)
def test_translation_is_a_zero_padded_shift(c: int, h: int) -> None:
    x = _images(32, c, h)
    out = diff_augment(x, ["translation"], 1.0, _gen(2))
    s = max(1, int(h * 0.125 + 0.5))
    shifts = [(dx, dy) for dx in range(-s, s + 1) for dy in range(-s, s + 1)]
    seen = set()
    for xi, oi in zip(x, out, strict=True):
        match = [d for d in shifts if torch.equal(oi, _shift(xi, *d))]
        assert len(match) == 1, "each output must be exactly one allowed shift of its input"
        seen.add(match[0])
    assert len(seen) > 1


@pytest.mark.parametrize("c,h", SHAPES)
def test_cutout_zeroes_one_clipped_square(c: int, h: int) -> None:
    x = _images(64, c, h)
    out = diff_augment(x, ["cutout"], 1.0, _gen(3))
    side = max(1, h // 2)
    zero = out == 0
    assert torch.equal(out[~zero], x[~zero])
    assert (zero == zero[:, :1]).all(), "the same pixels are cut in every channel"
    full = 0
    for z in zero[:, 0]:
        rows, cols = z.any(dim=1), z.any(dim=0)
        assert torch.equal(z, rows[:, None] & cols[None, :]), "the cut region is a rectangle"
        nr, nc = int(rows.sum()), int(cols.sum())
        assert 1 <= nr <= side and 1 <= nc <= side
        if nr < side:  # clipped rows must touch the top or bottom border
            assert rows[0] or rows[-1]
        if nc < side:
            assert cols[0] or cols[-1]
        full += int(z.sum()) == side * side
    assert full > 0, "some squares lie fully inside the image"


def test_per_sample_probability() -> None:
    x = _images(2000, 3, 8)
    out = diff_augment(x, ["color"], 0.5, _gen(4))
    changed = (out != x).flatten(1).any(dim=1).float().mean().item()
    assert 0.45 <= changed <= 0.55
    unchanged = ~(out != x).flatten(1).any(dim=1)
    assert torch.equal(out[unchanged], x[unchanged])


@pytest.mark.parametrize("c,h", SHAPES)
@pytest.mark.parametrize("p", [1.0, 0.5])
def test_gradient_flows(c: int, h: int, p: float) -> None:
    x = _images(8, c, h).requires_grad_()
    diff_augment(x, POLICIES, p, _gen(5)).sum().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("c,h", SHAPES)
def test_determinism(c: int, h: int) -> None:
    x = _images(8, c, h)
    a = diff_augment(x, POLICIES, 0.7, _gen(6))
    b = diff_augment(x, POLICIES, 0.7, _gen(6))
    other = diff_augment(x, POLICIES, 0.7, _gen(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, other)


def test_validation() -> None:
    x = _images(2, 3, 8)
    with pytest.raises(ValueError, match="translation"):
        diff_augment(x, ["color", "rotate"], 1.0)
    with pytest.raises(ValueError, match="rotate"):
        diff_augment(x, ["rotate"], 0.0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="p must be"):
            diff_augment(x, POLICIES, p)
    with pytest.raises(TypeError):
        diff_augment(x, "color", 1.0)
    assert torch.equal(diff_augment(x, [], 1.0), x)


def test_ada_update() -> None:
    up = ada_update(0.2, 0.9, 0.6, 1000, 10_000)
    assert isinstance(up, float) and up == pytest.approx(0.3)
    assert ada_update(0.2, 0.1, 0.6, 1000, 10_000) == pytest.approx(0.1)
    assert ada_update(0.2, 0.6, 0.6, 1000, 10_000) == pytest.approx(0.2)
    assert ada_update(0.95, 1.0, 0.6, 1000, 10_000) == 1.0
    assert ada_update(0.05, -1.0, 0.6, 1000, 10_000) == 0.0
    assert ada_update(0.0, 0.9, 0.6, 500_000, 500_000) == 1.0
    assert isinstance(ada_update(0.2, torch.tensor(0.9), 0.6, 1, 10), float)
    with pytest.raises(ValueError):
        ada_update(0.2, 0.9, 0.6, 1000, 0)

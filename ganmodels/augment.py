"""Differentiable augmentation (DiffAugment) with an ADA-style adaptive probability."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

POLICIES = ("translation", "cutout", "color")

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _rand(n: int, generator: torch.Generator | None, x: torch.Tensor) -> torch.Tensor:
    """n uniform [0, 1) numbers drawn on the CPU, as [n, 1, 1, 1] on x's device and dtype."""
    u = torch.rand(n, generator=generator)
    return u.to(device=x.device, dtype=x.dtype).view(n, 1, 1, 1)


def _color(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random brightness, saturation (skipped for one channel) and contrast, per sample."""
    n = x.shape[0]
    brightness, saturation, contrast = (_rand(n, generator, x) for _ in range(3))
    x = x + (brightness - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (saturation * 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (contrast + 0.5) + mean


def _translation(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Shift each sample by up to 1/8 of its size (at least 1 pixel), zero-padded."""
    n, _, h, w = x.shape
    sh = max(1, int(h * TRANSLATION_RATIO + 0.5))
    sw = max(1, int(w * TRANSLATION_RATIO + 0.5))
    tx = torch.randint(-sh, sh + 1, (n, 1, 1), generator=generator).to(x.device)
    ty = torch.randint(-sw, sw + 1, (n, 1, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # One pixel of zero padding: every index shifted off the image lands on it.
    rows = (rows + tx + 1).clamp(0, h + 1)
    cols = (cols + ty + 1).clamp(0, w + 1)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    x_pad = F.pad(x, [1, 1, 1, 1])
    return x_pad[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()


def _cutout(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Zero a square of half the size (at least 1 pixel) per sample, clipped at the borders."""
    n, _, h, w = x.shape
    sh, sw = max(1, int(h * CUTOUT_RATIO)), max(1, int(w * CUTOUT_RATIO))
    ox = torch.randint(0, h + (1 - sh % 2), (n, 1, 1), generator=generator).to(x.device)
    oy = torch.randint(0, w + (1 - sw % 2), (n, 1, 1), generator=generator).to(x.device)
    top, left = ox - sh // 2, oy - sw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + sh) & (cols >= left) & (cols < left + sw)
    return x * (~inside).to(x.dtype).unsqueeze(1)


_OPS: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "translation": _translation,
    "cutout": _cutout,
    "color": _color,
}


def diff_augment(
    x: torch.Tensor,
    policy: Sequence[str],
    p: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Apply each op of policy in order, to each sample of x [N, C, H, W] with probability p."""
    if isinstance(policy, str):
        raise TypeError(f"policy must be a sequence of op names such as {POLICIES}, not a str")
    unknown = [op for op in policy if op not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation op(s) {unknown}; choose from {POLICIES}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"augmentation probability p must be in [0, 1], got {p}")
    if x.dim() != 4:
        raise ValueError(f"expected images [N, C, H, W], got shape {tuple(x.shape)}")
    if p == 0.0:
        return x
    for op in policy:
        out = _OPS[op](x, generator)
        if p < 1.0:
            apply = _rand(x.shape[0], generator, x) < p
            out = torch.where(apply, out, x)
        x = out
    return x


def ada_update(
    p: float, real_sign_mean: float, target: float, images_seen: int, speed_images: int
) -> float:
    """StyleGAN2-ADA: p += sign(r_t - target) * images_seen / speed_images, clamped to [0, 1]."""
    if speed_images <= 0:
        raise ValueError(f"speed_images must be positive, got {speed_images}")
    diff = float(real_sign_mean) - float(target)
    sign = (diff > 0) - (diff < 0)
    return float(min(max(float(p) + sign * images_seen / speed_images, 0.0), 1.0))

"""Sample grids as PNG-ready arrays (Pillow + numpy; no torchvision)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def make_grid(
    images: np.ndarray, nrow: int | None = None, pad: int = 1, min_px: int = 256
) -> Image.Image:
    """Tile uint8 images [N, C, H, W] into one image, upscaled (nearest) to at least min_px wide."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 [N, C, H, W], got {images.dtype} {images.shape}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    canvas = np.full((c, ncol * (h + pad) + pad, nrow * (w + pad) + pad), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        canvas[:, y : y + h, x : x + w] = images[i]
    mode = "L" if c == 1 else "RGB"
    img = Image.fromarray(canvas[0] if c == 1 else canvas.transpose(1, 2, 0), mode)
    # Digits are 8x8: without upscaling, a grid is a thumbnail nobody can review.
    scale = max(1, math.ceil(min_px / img.width))
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST) if scale > 1 else img

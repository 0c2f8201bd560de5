"""InceptionV3 pool3 feature extractor for the standard FID, in plain torch (no torchvision).

The architecture and parameter names follow pytorch-fid (https://github.com/mseitzer/pytorch-fid,
Apache-2.0, `src/pytorch_fid/inception.py`), which patches torchvision's inception_v3 into the
TensorFlow FID graph, so that pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` loads strictly.
The FID-specific differences from torchvision are kept: branch pools that average without the
zero padding (FIDInceptionA/C/E_1) and a max pool in the last block (FIDInceptionE_2).

Images are float tensors [N, C, H, W] in [-1, 1]; the only file read is the path given.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganmodels.safeload import load_state

FEATURE_DIM = 2048
WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = (
    f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
)
_NUM_CLASSES = 1008  # the TF graph's 1008-way head; unused, but present in the weights file


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps=0.001, as TF) -> ReLU."""

    def __init__(self, c_in: int, c_out: int, **kwargs: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **kwargs)  # type: ignore[arg-type]
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Conv, BN, ReLU."""
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_no_pad(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool leaves the padded zeros out of the mean; torchvision's does not.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block (Mixed_5b/c/d) with TF-style average pooling."""

    def __init__(self, c_in: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches along channels."""
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([self.branch1x1(x), b5, b3, bp], 1)


class InceptionB(nn.Module):
    """35x35 -> 17x17 reduction (Mixed_6a), unchanged from torchvision."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the three branches along channels."""
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class FIDInceptionC(nn.Module):
    """17x17 block with factorised 7x7 convs (Mixed_6b..e) and TF-style average pooling."""

    def __init__(self, c_in: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches along channels."""
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([self.branch1x1(x), b7, bd, bp], 1)


class InceptionD(nn.Module):
    """17x17 -> 8x8 reduction (Mixed_7a), unchanged from torchvision."""

    def __init__(self, c_in: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the three branches along channels."""
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class FIDInceptionE(nn.Module):
    """8x8 block (Mixed_7b: FIDInceptionE_1, avg pool; Mixed_7c: FIDInceptionE_2, max pool)."""

    def __init__(self, c_in: int, max_pool: bool) -> None:
        super().__init__()
        # The FID graph max-pools in Mixed_7c's pool branch (likely a bug upstream, but FID
        # numbers are only comparable if we reproduce it).
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four (split) branches along channels."""
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        mp = self.max_pool
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if mp else _avg_pool_no_pad(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class InceptionV3(nn.Module):
    """The FID InceptionV3; forward returns the 2048-d pool3 features, not logits."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, max_pool=False)
        self.Mixed_7c = FIDInceptionE(2048, max_pool=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        # Kept only so the weights file loads strictly; FID uses the pool3 features before it.
        self.fc = nn.Linear(FEATURE_DIM, _NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, 299, 299] in [-1, 1] -> pool3 features [N, 2048]."""
        # Children run in registration order (the torchvision graph) up to avgpool; fc is skipped.
        for name, module in self.named_children():
            if name == "fc":
                break
            x = module(x)
        return torch.flatten(x, 1)


def build_inception() -> InceptionV3:
    """An untrained InceptionV3 with the FID weights file's layout."""
    return InceptionV3()


def _fail(path: Path, what: str, items: list[str]) -> ValueError:
    shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
    return ValueError(f"{path} is not the FID Inception weights file: {what}: {shown}")


def load_inception(path: str | Path) -> InceptionV3:
    """Load pytorch-fid's FID weights from `path` into a frozen, eval-mode InceptionV3."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Inception weights not found at {path}: download {WEIGHTS_NAME} (pytorch-fid's FID "
            f"weights, {WEIGHTS_URL}) and put it at {path}, or set evaluate.inception_weights"
        )
    state = load_state(path, "Inception weights file")
    model = build_inception()
    expected = model.state_dict()
    # BatchNorm's num_batches_tracked is a counter that older torch did not save: optional.
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    if missing := [k for k in expected if k not in state and k not in optional]:
        raise _fail(path, "missing keys", missing)
    if unexpected := [str(k) for k in state if k not in expected]:
        raise _fail(path, "unexpected keys", unexpected)
    bad = [
        f"{k} {tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}"
        f" (expected {tuple(expected[k].shape)})"
        for k, v in state.items()
        if not isinstance(v, torch.Tensor) or v.shape != expected[k].shape
    ]
    if bad:
        raise _fail(path, "wrong shapes", bad)
    model.load_state_dict({**{k: expected[k] for k in optional}, **state}, strict=True)
    return model.eval().requires_grad_(False)


def inception_features(
    model: InceptionV3, images: torch.Tensor, batch_size: int = 50
) -> np.ndarray:
    """Pool3 features (float64 [N, 2048]) of [N, 1 or 3, H, W] images in [-1, 1]."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, images.shape[0], batch_size):
            x = images[i : i + batch_size].to(device=device, dtype=torch.float32)
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)  # grayscale -> RGB, as image loaders do for FID
            # Same resize as pytorch-fid (resize_input=True), so numbers stay comparable.
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            out.append(model(x).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), dtype=np.float64)

"""Small CNN domain classifier whose penultimate layer is the feature space of the FD metric.

Images are float tensors [N, C, H, W] in [-1, 1]; no file I/O here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 128


def _block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DomainClassifier(nn.Module):
    """Conv blocks down to 4x4, a 128-d penultimate layer, and a linear class head."""

    def __init__(self, in_channels: int, image_size: int, num_classes: int, width: int = 32):
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
        if in_channels < 1 or num_classes < 2 or width < 1:
            raise ValueError(
                f"need in_channels >= 1, num_classes >= 2, width >= 1; "
                f"got {in_channels}, {num_classes}, {width}"
            )
        self.in_channels, self.image_size = in_channels, image_size
        self.num_classes, self.width = num_classes, width
        # Full-resolution block, then stride-2 blocks down to 4x4; channels double per halving
        # but are capped at 4*width so large images don't blow up the parameter count.
        layers = [_block(in_channels, width, 1)]
        c = width
        for _ in range(int(math.log2(image_size)) - 2):
            c_next = min(2 * c, 4 * width)
            layers += [_block(c, c_next, 2), _block(c_next, c_next, 1)]
            c = c_next
        self.trunk = nn.Sequential(*layers)
        # Flatten (not global-pool) the 4x4 map: on tiny images the position of strokes matters.
        self.embed = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c * 16, FEATURE_DIM),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    @property
    def config(self) -> dict[str, int]:
        """Constructor arguments, enough to rebuild the module (checkpoints store this)."""
        return {
            "in_channels": self.in_channels,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            "width": self.width,
        }

    def _check(self, x: torch.Tensor) -> None:
        want = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            dims = ", ".join(map(str, want))
            raise ValueError(f"expected images [N, {dims}], got {tuple(x.shape)}")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features [N, 128] of images [N, C, H, W] in [-1, 1]."""
        self._check(x)
        return self.embed(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [N, num_classes]."""
        return self.head(self.features(x))


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels (border value -1 = background)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]
    batch = torch.arange(n)[:, None, None, None]
    chan = torch.arange(x.shape[1])[None, :, None, None]
    return padded[batch, chan, rows, cols]


def fit_classifier(
    model: DomainClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    max_shift: int = 1,
) -> list[float]:
    """Train in place with Adam + cross-entropy; returns the mean loss of each epoch."""
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    if images.shape[0] < 2:
        raise ValueError("need at least 2 labelled images to train the classifier")
    if int(labels.min()) < 0 or int(labels.max()) >= model.num_classes:
        raise ValueError(f"labels must lie in [0, {model.num_classes}) (-1 = unlabeled)")
    device = _device(model)
    labels = labels.long()
    # A private generator drives shuffling and augmentation: the run is reproducible from `seed`
    # and the caller's global RNG stream is left untouched.
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(images.shape[0] / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(images.shape[0], generator=gen)
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single row
                continue
            x = images[idx]
            if max_shift > 0:
                x = _random_shift(x, max_shift, gen)
            x, y = x.to(device), labels[idx].to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        losses.append(total / max(seen, 1))
    model.eval()
    return losses


@torch.no_grad()
def embed(
    model: DomainClassifier, images: torch.Tensor, batch_size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features [N, 128] and class probabilities [N, K] in eval mode, batched, on CPU."""
    was_training = model.training
    model.eval()
    device = _device(model)
    feats, probs = [], []
    try:
        for start in range(0, images.shape[0], batch_size):
            f = model.features(images[start : start + batch_size].to(device))
            feats.append(f.cpu())
            probs.append(model.head(f).softmax(dim=1).cpu())
    finally:
        model.train(was_training)
    if not feats:
        return torch.empty(0, FEATURE_DIM), torch.empty(0, model.num_classes)
    return torch.cat(feats), torch.cat(probs)


def accuracy(
    model: DomainClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512
) -> float:
    """Share of images whose argmax prediction equals the label (eval mode)."""
    if images.shape[0] == 0:
        raise ValueError("accuracy of an empty set is undefined")
    _, probs = embed(model, images, batch_size)
    return float((probs.argmax(dim=1) == labels.long().cpu()).float().mean())

"""Does adding a conditional G's samples help a classifier? The domain classifier's network,
trained on the real images (train and validation) alone and on them plus samples at the mixing
ratio the validation split chooses (ganmodels/utility.py), scored on the holdout."""

from __future__ import annotations

import numpy as np
import torch

from ganmodels.image.classifier import DomainClassifier, embed, fit_classifier
from ganmodels.utility import augmentation_gain
from pipeline.kinds.image.classifier import BATCH_SIZE, LR, WIDTH
from pipeline.kinds.image.shards import to_unit_range


def augmentation(
    fake: torch.Tensor,
    fake_labels: np.ndarray,
    splits: tuple[tuple[np.ndarray, np.ndarray], ...],
    epochs: int,
    seed: int,
) -> dict[str, float]:
    """Holdout accuracy of a fresh classifier (the classifier stage's network and schedule,
    `epochs` epochs, seed) on the real train and validation images alone and with samples
    (fake in [-1, 1], the class each was asked for) at the ratio chosen on the validation
    images, and the gain (4 decimals); splits: (train, validation, holdout) uint8 images and
    labels."""
    channels, size = int(fake.shape[1]), int(fake.shape[-1])
    classes = int(max(splits[0][1].max(), fake_labels.max())) + 1

    def fit_predict(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        with torch.random.fork_rng(devices=[]):  # initialisation from seed, caller's RNG kept
            torch.manual_seed(seed)
            model = DomainClassifier(channels, size, classes, WIDTH)
        fit_classifier(model, torch.from_numpy(x), torch.from_numpy(y), epochs, BATCH_SIZE, LR,
                       seed)  # fmt: skip
        return embed(model, torch.from_numpy(x_eval))[1].argmax(dim=1).numpy()

    def images(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(to_unit_range(x), dtype=np.float32)

    train, validation, holdout = ((images(x), y.astype(np.int64)) for x, y in splits)
    gain = augmentation_gain(
        train,
        validation,
        (fake.numpy().astype(np.float32), fake_labels.astype(np.int64)),
        holdout,
        fit_predict,
        lambda y, p: float((y == p).mean()),
        seed,
    )
    return {k: round(v, 4) for k, v in gain.items()}

"""Small data for benchmarks/utility.py: the digits with a few real images per class. A small
CNN (the classifier stage's network) trained on them alone, with classic augmentation (random
1-pixel shifts and copies rotated by +-10 degrees), with our conditional GAN's samples, and
with both; holdout accuracy. The GAN trains on the few images less a validation share (as
prepare keeps data.validation_fraction from G); the samples' ratio is chosen on that share,
never on the holdout nor on images G saw (0 is allowed and said), by each downstream model for
itself (with and without classic augmentation); the chosen CNN then fits all the few images."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganmodels.image.classifier import DomainClassifier, embed, fit_classifier
from ganmodels.metrics import pixels
from ganmodels.privacy import copy_rate, membership_auc
from ganmodels.utility import RATIOS, choose_amount, choose_ratio
from pipeline.data import split_indices
from pipeline.kinds.image.classifier import BATCH_SIZE, LR, WIDTH

HOLDOUT = 0.3  # of the digits, fixed (seed 0) for every size and seed


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pool images, labels, holdout images, labels): float32 [N, 1, 8, 8] in [-1, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images[:, None] / 8.0 - 1.0).astype(np.float32)
    pool, hold = train_test_split(np.arange(len(x)), test_size=HOLDOUT, random_state=0,
                                  stratify=d.target)  # fmt: skip
    return x[pool], d.target[pool], x[hold], d.target[hold]


def subset(x: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, ...]:
    """per_class images of each digit drawn from the pool with seed."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.permutation(np.flatnonzero(y == k))[:per_class] for k in range(10)])
    return x[rows], y[rows]


def rotated(x: np.ndarray, degrees: float) -> np.ndarray:
    """The images rotated about their centre (bilinear, zeros -> -1 background)."""
    a = math.radians(degrees)
    theta = torch.tensor([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])
    t = torch.from_numpy(x) + 1.0  # background 0 while resampling
    grid = torch.nn.functional.affine_grid(theta.expand(len(x), 2, 3), list(t.shape), False)
    out = torch.nn.functional.grid_sample(t, grid.float(), align_corners=False)
    return (out - 1.0).numpy()


def classic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x with copies rotated by -10 and +10 degrees (shifts come in training)."""
    return np.concatenate([x, rotated(x, -10), rotated(x, 10)]), np.concatenate([y, y, y])


def cnn(epochs: int, seed: int, shift: int) -> Any:
    """fit_predict(x, y, x_eval) of a fresh classifier (the classifier stage's network)."""

    def fit_predict(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = DomainClassifier(1, 8, 10, WIDTH)
        batch = min(BATCH_SIZE, len(x))
        fit_classifier(model, torch.from_numpy(x), torch.from_numpy(y).long(), epochs, batch,
                       LR, seed, max_shift=shift)  # fmt: skip
        return embed(model, torch.from_numpy(x_eval))[1].argmax(dim=1).numpy()

    return fit_predict


def fit_gan(work: Path, x: np.ndarray, y: np.ndarray, steps: int, seed: int, train: dict) -> Any:
    """Our conditional image GAN trained on (x, y) as a folder of PNGs per class (prepare holds
    out one image: holdout_fraction must be above 0; the caller keeps its own validation
    images); returns its generator (eval mode)."""
    from ganmodels.build import generator_from_state
    from pipeline.config import load_params
    from pipeline.prepare import prepare
    from pipeline.train import fit
    from tests.helpers import write_params

    for i, (img, k) in enumerate(zip(x, y, strict=True)):
        folder = work / "data" / str(k)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round((img[0] + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.png")
    over = {
        "data": {"source": str(work / "data"), "image_size": 8, "channels": 1,
                 "holdout_fraction": 0.001, "validation_fraction": 0.0, "split_seed": seed},
        "model": {"conditional": True},
        "train": {"steps": steps, "seed": seed, "batch_size": 32 if len(x) < 200 else 64,
                  "keep_best": False, "checkpoint_every": steps, "log_every": max(steps // 5, 1),
                  "max_failures": 0, "experiment_name": "bench-utility", **train},
    }  # fmt: skip
    params = load_params(write_params(work / "params.yaml", over))
    prepare(params.data, work / "prepared", work)
    _, state = fit(params, work, work / "prepared")
    return generator_from_state({"model_config": state["model_config"],
                                 "state_dict": state["G_ema"]}).eval()  # fmt: skip


def run_size(
    per_class: int, seed: int, work: Path, steps: int, epochs: int, train: dict,
    validation: float,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every arm's holdout accuracy for one size and seed."""
    from ganmodels.image.sampling import balanced_labels, generate

    pool_x, pool_y, hold_x, hold_y = digits()
    x, y = subset(pool_x, pool_y, per_class, seed)
    everything = (np.arange(len(y)), np.arange(0))  # no validation: no choice, ratio 0
    # Stratified: every class keeps its share from the GAN.
    seen, kept = split_indices(y, len(y), validation, seed) if validation else everything
    g = fit_gan(work, x[seen], y[seen], steps, seed, train)
    n = 2 * len(x)  # enough for the largest ratio
    labels = balanced_labels(n, 10)
    fake = generate(g, n, seed, int(g.z_dim), labels=labels).numpy().astype(np.float32)
    fake_y = labels.numpy()
    plain, shifted = cnn(epochs, seed, 0), cnn(epochs, seed, 1)

    def with_classic(fx: np.ndarray, fy: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        """fx with classic augmentation plus r synthetic images per real one."""
        cx, cy = classic(fx, fy)
        k = round(r * len(fx))
        return np.concatenate([cx, fake[:k]]), np.concatenate([cy, fake_y[:k]])

    # Each downstream model chooses its own ratio on the images G never saw: the plain CNN for
    # "synthetic", the CNN trained with classic augmentation for "both".
    fit, val = (x[seen], y[seen]), (x[kept], y[kept])
    alone = choose_ratio(fit, val, (fake, fake_y), plain, _accuracy, seed)
    both = choose_amount(fit, val, with_classic, shifted, _accuracy, seed, RATIOS)
    ratio = {"real": 0.0, "classic": 0.0, "synthetic": alone.ratio, "both": both.ratio}
    k = round(ratio["synthetic"] * len(x))
    sets = {
        "real": (x, y, plain),
        "classic": (*with_classic(x, y, 0.0), shifted),
        "synthetic": (np.concatenate([x, fake[:k]]), np.concatenate([y, fake_y[:k]]), plain),
        "both": (*with_classic(x, y, ratio["both"]), shifted),
    }
    leaked = leak(x[seen], hold_x, fake, seed)  # the attack on this GAN: its own images
    return [
        {"per_class": per_class, "seed": seed, "arm": arm, "ratio": ratio[arm], "steps": steps,
         "gan_images": len(seen), "validation_images": len(kept),
         "accuracy": _accuracy(hold_y, fit_predict(fx, fy, hold_x)), **leaked}
        for arm, (fx, fy, fit_predict) in sets.items()
    ]  # fmt: skip


def leak(members: np.ndarray, others: np.ndarray, fake: np.ndarray, seed: int) -> dict:
    """The membership-inference AUC and copy rate of a GAN's samples against its train images
    and holdout ones, in evaluate's pixel space (ganmodels.metrics.pixels)."""
    rows = [pixels(torch.from_numpy(np.asarray(a, np.float32))).numpy()
            for a in (members, others, fake)]  # fmt: skip
    return {
        "membership_auc": membership_auc(*rows, seed),
        "copy_rate": copy_rate(rows[2], *rows[:2]),
    }


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float((np.asarray(y) == np.asarray(p)).mean())

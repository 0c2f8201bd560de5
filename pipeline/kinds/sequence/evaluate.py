"""evaluate for sequences: sample the exported generator, score it against the holdout with
ganmodels/sequence/metrics.py, beside real train sequences (the ceiling) and train sequences
with their steps shuffled (the floor), and its privacy (ganmodels/privacy.py). The scalars are
declared in ./metrics.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganmodels.metrics import frechet_distance
from ganmodels.privacy import copy_rate, membership_auc
from ganmodels.sequence import metrics as m
from ganmodels.sequence.encoder import SequenceEncoder, encode
from ganmodels.sequence.sampling import SequenceSampler, sampler_from_state
from ganmodels.sequence.scaling import lengths
from ganmodels.utility import augmentation_gain
from pipeline import paths
from pipeline.data import SPLITS
from pipeline.kinds.base import Evaluation
from pipeline.kinds.sequence.classifier import load_encoder
from pipeline.kinds.sequence.figure import sequence_figure
from pipeline.kinds.sequence.metrics import declared, fd_name, summary_line
from pipeline.kinds.sequence.shards import load_split
from pipeline.metric_names import check_written

if TYPE_CHECKING:
    from pipeline.config import Params


def scores(
    fake: np.ndarray,
    holdout: np.ndarray,
    spec: m.PostHoc,
    repeats: int,
    seed: int,
    encoder: SequenceEncoder,
) -> dict[str, float]:
    """Discriminative (and its raw accuracy), predictive, FD and shape scores of model-space
    sequences against the holdout; post-hoc scores are means over `repeats` seeds."""
    f, h = torch.from_numpy(fake), torch.from_numpy(holdout)
    fd = frechet_distance(encode(encoder, h).numpy(), encode(encoder, f).numpy())
    disc = [m.discriminative(h, f, spec, seed + r) for r in range(repeats)]
    pred = [m.predictive(f, h, spec, seed + r) for r in range(repeats)]
    return {
        "discriminative_score": round(float(np.mean([d[0] for d in disc])), 4),
        "discriminative_accuracy": round(float(np.mean([d[1] for d in disc])), 4),
        "predictive_score": round(float(np.mean(pred)), 4),
        "fd": round(fd, 4),
        **{k: round(v, 4) for k, v in m.shape_errors(holdout, fake).items()},
    }


def tstr(
    fake: np.ndarray, fake_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
    num_classes: int, spec: m.PostHoc, repeats: int, seed: int,
) -> float:  # fmt: skip
    """Holdout accuracy of a classifier trained on (fake, fake_labels), mean over seeds."""
    args = (torch.from_numpy(fake), torch.from_numpy(fake_labels))
    tests = (torch.from_numpy(test), torch.from_numpy(test_labels))
    runs = [m.classification(*args, *tests, num_classes, spec, seed + r) for r in range(repeats)]
    return round(float(np.mean(runs)), 4)


def evaluate_sequences(
    sampler: SequenceSampler,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    n: int,
    spec: m.PostHoc,
    repeats: int,
    seed: int,
    encoder: SequenceEncoder,
) -> tuple[dict[str, Any], np.ndarray]:
    """Every score of n samples (and of real and shuffled train sequences) against the
    holdout (splits: train, validation, holdout sequences and labels; the validation split
    chooses the augmentation ratio); returns the metrics and the samples in data units."""
    train, holdout = splits["train"], splits["holdout"]
    scaling = sampler.scaling
    fake_data, fake_labels = sampler.sample_labelled(n, seed)
    fake, hold = scaling.to_model(fake_data), scaling.to_model(holdout[0])
    rng = np.random.default_rng(seed)
    real = scaling.to_model(train[0][rng.permutation(len(train[0]))[:n]])
    out: dict[str, Any] = scores(fake, hold, spec, repeats, seed, encoder)
    for name, ref in (("real", real), ("shuffled", m.shuffled_steps(real, seed))):
        refs = scores(ref, hold, spec, repeats, seed, encoder)
        out |= {f"{name}_{k}": v for k, v in refs.items()}
    if fake_labels is not None:
        k = sampler.num_classes
        out["tstr_accuracy"] = tstr(fake, fake_labels, hold, holdout[1], k, spec, repeats, seed)
        real_all = scaling.to_model(train[0])
        out["real_tstr_accuracy"] = tstr(
            real_all, train[1], hold, holdout[1], k, spec, repeats, seed
        )
        val = splits["validation"]
        out["augmentation"] = augmentation(
            [(real_all, train[1]), (scaling.to_model(val[0]), val[1]), (hold, holdout[1])],
            (fake, fake_labels), k, spec, seed,
        )  # fmt: skip
    out |= privacy(fake, scaling.to_model(train[0]), hold, seed)
    out |= {"num_samples": n, "holdout_rows": len(hold)}
    return out, fake_data


def augmentation(
    splits: list[tuple[np.ndarray, np.ndarray]], fake: tuple[np.ndarray, np.ndarray], k: int,
    spec: m.PostHoc, seed: int,
) -> dict[str, float]:  # fmt: skip
    """Holdout accuracy of the TSTR classifier trained on the real sequences (train and
    validation) alone and with samples, at the ratio (0, 0.5 or 1: each GRU fit costs seconds)
    the validation split chooses; the gain. splits: train, validation, holdout (model
    space)."""

    def fit_predict(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
        as_t = torch.from_numpy
        return m.predictions(as_t(x), as_t(y), as_t(x_eval), k, spec, seed).numpy()

    train, validation, holdout = [(x, np.asarray(y, np.int64)) for x, y in splits]
    synthetic = (fake[0], np.asarray(fake[1], np.int64))
    accuracy = lambda y, p: float((y == p).mean())  # noqa: E731
    gain = augmentation_gain(train, validation, synthetic, holdout, fit_predict, accuracy, seed,
                             (0.0, 0.5, 1.0))  # fmt: skip
    return {key: round(v, 4) for key, v in gain.items()}


def privacy(
    fake: np.ndarray, train: np.ndarray, holdout: np.ndarray, seed: int
) -> dict[str, float]:
    """Membership-inference AUC and copy rate of model-space samples, each sequence one row
    of its scaled values and mask (its length counts)."""
    rows = [x.reshape(len(x), -1) for x in (fake, train, holdout)]
    return {
        "membership_auc": round(membership_auc(rows[1], rows[2], rows[0], seed), 4),
        "copy_rate": round(copy_rate(*rows), 4),
    }


def evaluate_generator(
    params: Params, schema: dict[str, Any], generator: dict[str, Any], root: Path
) -> Evaluation:
    """The evaluate stage's core for sequences."""
    e = params.evaluate
    sampler = sampler_from_state(generator)
    encoder = load_encoder(paths.CLASSIFIER, schema)  # first: fails fast on a stale one
    splits = {s: load_split(paths.PREPARED, s) for s in SPLITS}
    spec = m.PostHoc(steps=e.posthoc_steps, max_steps=e.posthoc_max_steps)
    metrics, fake = evaluate_sequences(
        sampler, splits, e.num_samples, spec, e.posthoc_repeats, e.seed, encoder
    )
    metrics[fd_name(params.data.source)] = metrics["fd"]
    metrics = check_written(metrics, declared(sampler.num_classes > 0, params.data.source))
    real = splits["holdout"][0]
    figure = sequence_figure(real, fake, schema["channels"], e.seed)
    artifacts = {"eval/lengths.json": json.dumps(_lengths(real, fake))}
    return Evaluation(metrics, figure, summary_line(metrics), artifacts)


def _lengths(real: np.ndarray, fake: np.ndarray) -> dict[str, list[int]]:
    """Counts of each length, real holdout and synthetic (for a reviewer)."""
    return {
        name: np.bincount(lengths(x), minlength=x.shape[1] + 1).tolist()
        for name, x in (("real", real), ("synthetic", fake))
    }

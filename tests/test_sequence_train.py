"""Sequences through the same Ray Train loop as images and tables: 2 DDP workers, a labelled
variable-length set; exact resume after a failure; the export samples, scores and serves."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import torch

import pipeline.loop
from ganmodels.sequence.encoder import fit_encoder
from ganmodels.sequence.metrics import PostHoc
from ganmodels.sequence.sampling import sampler_from_state
from ganmodels.sequence.scaling import lengths
from pipeline import paths
from pipeline.augment import augment
from pipeline.config import load_params
from pipeline.kinds.sequence.classifier import train_tensors
from pipeline.kinds.sequence.evaluate import evaluate_sequences
from pipeline.kinds.sequence.read import read_source
from pipeline.kinds.sequence.shards import load_split
from pipeline.prepare import prepare
from pipeline.register import register
from pipeline.tracking import active_tracking, client, tracking_uri
from pipeline.train import fit, write_outputs
from tests.helpers import BABY, data_config, write_params

SEQ = {
    "data": {"kind": "sequence", "source": "waves.csv", "id_column": "unit", "time_column": "t",
             "label": "band", "static_columns": ["gain", "site"]},
    "model": {"preset": "rnn"},
    "train": {"batch_size": 32, "steps": 40, "checkpoint_every": 20, "log_every": 10},
}  # fmt: skip


SITES = ("east", "north", "south")


def write_waves(root: Path, n: int = 80) -> Path:
    """A long-format CSV: n sequences of 8-16 steps, two channels and a third that follows
    one of them (millivolts), a label in the frequency, two static columns (a numeric gain
    that scales volts, a categorical site)."""
    rng = np.random.default_rng(0)
    parts = []
    for i in range(n):
        steps, band = int(rng.integers(8, 17)), ("low", "high")[i % 2]
        freq = (0.2 if band == "low" else 0.8) + rng.uniform(0, 0.1)
        t, gain = np.arange(steps), round(float(rng.uniform(1, 5)), 2)
        parts.append(pd.DataFrame({"unit": f"s{i:03d}", "t": t, "volts": gain * np.sin(freq * t),
                                   "amps": 2 + np.cos(freq * t),
                                   "millivolts": 1000 * gain * np.sin(freq * t),
                                   "band": band, "gain": gain,
                                   "site": SITES[i % 3]}))  # fmt: skip
    path = root / "waves.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def test_two_workers_train_sequences_that_sample_evaluate_and_serve(tmp_path: Path) -> None:
    # Long: one 2-worker training, then every use of its export (split, each would retrain).
    write_waves(tmp_path)
    best = {"train": {"keep_best": True, "export": "best"}}
    params = load_params(write_params(tmp_path / "params.yaml", BABY, SEQ, best))
    prepared = tmp_path / "prepared"
    schema = prepare(params.data, prepared, tmp_path)
    result, state = fit(params, tmp_path, prepared)
    assert result.step == 40 and params.train.num_workers == 2
    # The probe scored each checkpoint; the export is the best one's (train.export: best).
    assert 0 < result.best["ks_values"] < 2 and "monitor/ks_values" in result.final_metrics
    assert result.exported_step == result.best["step"] == state["step"] in (20, 40)
    assert all(math.isfinite(result.final_metrics[k]) for k in ("loss/D_main", "loss/G_main"))
    config = state["model_config"]
    assert config["architecture"] == "rnn" and config["num_classes"] == 2
    assert config["seq_len"] == 16 and config["min_length"] == 8

    sampler = sampler_from_state({"model_config": config, "state_dict": state["G_ema"]})
    x = sampler.sample(100, seed=0)
    # The channels, then the statics as constant channels: gain, site=east/north/south.
    channels = ["volts", "amps", "millivolts", "gain", *(f"site={s}" for s in SITES)]
    assert config["channels"] == channels and x.shape == (100, 16, 7) and x.dtype == np.float32
    # millivolts is computed from volts by G: exactly 1000 x (float32 rounding aside).
    assert [(d["column"], d["source_column"]) for d in config["derived"]] == [
        ("millivolts", "volts")
    ]
    np.testing.assert_allclose(x[..., 2], 1000 * x[..., 0], rtol=1e-5, atol=1e-3)
    steps = lengths(x)
    # Lengths drawn from the train split's (per class): only lengths train sequences have.
    seen = {n for k in schema["length_counts"]["by_class"] for n, c in enumerate(k) if c}
    assert set(steps.tolist()) <= seen and len(set(steps.tolist())) > 3
    # NaN exactly after each sequence's end, in every channel; finite before.
    for seq, n in zip(x, steps, strict=True):
        assert np.isfinite(seq[:n]).all() and np.isnan(seq[n:]).all()
        assert (seq[:n, 3:] == seq[0, 3:]).all()  # static columns hold over the sequence
        assert sorted(seq[0, 4:]) == [0.0, 0.0, 1.0]  # one site
    np.testing.assert_array_equal(x, sampler.sample(100, seed=0))  # same seed, same sequences
    low, high = np.array(schema["scaling"]["min"]), np.array(schema["scaling"]["max"])
    assert (np.nanmin(x, axis=(0, 1)) >= low - 1e-4).all() and (
        np.nanmax(x, axis=(0, 1)) <= high + 1e-4
    ).all()

    # The evaluate core: every score beside the real and shuffled references.
    splits = {s: load_split(prepared, s) for s in ("train", "validation", "holdout")}
    x, y, k = train_tensors(prepared)
    encoder, _ = fit_encoder(x, y, k, 8, 1, 0)
    metrics, fake = evaluate_sequences(sampler, splits, 60, PostHoc(steps=20), 1, 0, encoder)
    assert fake.shape == (60, 16, 7) and metrics["holdout_rows"] == 16
    for key in ("discriminative_score", "predictive_score", "length_distance", "fd"):
        assert math.isfinite(metrics[key]) and math.isfinite(metrics[f"real_{key}"])
        assert math.isfinite(metrics[f"shuffled_{key}"])
    assert 0 <= metrics["discriminative_score"] <= 0.5 and 0 <= metrics["tstr_accuracy"] <= 1
    assert 0 <= metrics["membership_auc"] <= 1 and 0 <= metrics["copy_rate"] <= 1
    assert metrics["augmentation"]["ratio"] in (0, 0.5, 1)  # labelled: samples offered to TSTR

    # Registered: the pyfunc's contract.
    uri = tracking_uri(tmp_path)
    write_outputs(result, state, uri, tmp_path)
    decision = register(
        client(uri), params.register, result.run_id, tmp_path / paths.GENERATOR, metrics, {}
    )
    assert decision.primary_metric == "discriminative_score" and decision.model_name == "gan-waves"
    with active_tracking(uri):
        model = mlflow.pyfunc.load_model(decision.model_uri)
    out = model.predict(pd.DataFrame({"n": [12], "seed": [3]}))
    assert isinstance(out, np.ndarray) and out.shape == (12, 16, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, model.predict(pd.DataFrame({"n": [12], "seed": [3]})))
    labelled = model.predict(pd.DataFrame({"n": [5], "seed": [1], "label": [1]}))
    assert labelled.shape == (5, 16, 3)
    with pytest.raises(Exception, match=r"label must be in 0..1"):
        model.predict(pd.DataFrame({"n": [5], "seed": [1], "label": [2]}))
    long = model.predict(pd.DataFrame({"n": [4], "seed": [3], "format": ["long"]}))
    assert list(long.columns) == ["unit", "t", "volts", "amps", "millivolts", "gain", "site"]
    assert set(long["site"]) <= set(SITES)
    assert (long.groupby("unit")[["gain", "site"]].nunique() == 1).all().all()
    assert long["gain"].between(low[3] - 1e-4, high[3] + 1e-4).all()
    # The first 4 of a seed's sequences are the 4 of n=4 (latents and labels drawn in order).
    assert len(long) == int(lengths(out[:4]).sum()) and long["unit"].nunique() == 4
    first = long[long["unit"] == 0]
    series = ["volts", "amps", "millivolts"]
    np.testing.assert_array_equal(first[series].to_numpy(), out[0, : len(first)])

    # gan augment's core: every real sequence but the holdout (train, then validation) plus
    # samples at their class shares, marked.
    manifest = augment(model, prepared, 1.0, "train", 0, tmp_path / "aug.npz")
    pairs = zip(splits["train"], splits["validation"], strict=True)
    real, labels = (np.concatenate(p) for p in pairs)
    aug = np.load(tmp_path / "aug.npz")
    assert aug["values"].shape == (2 * len(real), 16, 3) and aug["synthetic"].sum() == len(real)
    np.testing.assert_array_equal(aug["values"][: len(real)], real[..., :3])  # statics left out
    added = np.bincount(aug["labels"][aug["synthetic"]], minlength=2)
    assert added.tolist() == np.bincount(labels, minlength=2).tolist()  # the train shares
    assert manifest["rows"] == {"real": len(real), "synthetic": len(real)}
    assert np.isnan(aug["values"][aug["synthetic"]]).any()  # variable lengths kept


def _fit_waves(root: Path) -> tuple[Any, dict[str, Any]]:
    """A 1-worker fit of the waves in its own project folder."""
    root.mkdir()
    write_waves(root)
    over = {"train": {"num_workers": 1, "max_failures": 1, "keep_best": False}}
    params = load_params(write_params(root / "params.yaml", BABY, SEQ, over))
    prepare(params.data, root / "prepared", root)
    return fit(params, root, root / "prepared")


def test_a_failed_sequence_run_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight, want = _fit_waves(tmp_path / "straight")
    report, calls = pipeline.loop._report, []

    def flaky_report(rank: Any, step: int, *args: Any) -> None:
        report(rank, step, *args)
        calls.append(step)
        if len(calls) == 1:  # after the first checkpoint, once
            raise ConnectionError("storage went away")

    monkeypatch.setattr(pipeline.loop, "_report", flaky_report)
    resumed, got = _fit_waves(tmp_path / "flaky")
    assert straight.start_step == 0 and resumed.start_step == 20 and calls == [20, 40]
    for net in ("G", "D", "G_ema"):
        for key, value in want[net].items():
            assert torch.equal(got[net][key], value), f"{net}.{key} differs after resume"


def test_the_embedded_default_is_japanese_vowels_with_its_lengths_and_speakers() -> None:
    data = read_source(data_config(kind="sequence", source="japanese_vowels"), Path("."))
    assert data.values.shape == (640, 29, 12) and len(data.class_names) == 9
    assert lengths(data.values).min() == 7 and lengths(data.values).max() == 29
    assert np.isfinite(data.values[0, : lengths(data.values)[0]]).all()


def test_the_moment_loss_matches_means_spreads_and_step_changes() -> None:
    """moment_gap against hand-computed cases; the sequence view sees a jittery batch with the
    smooth one's per-step spread; with moment_weight G's update is not the same."""
    from ganmodels.losses import moment_gap
    from pipeline.kinds.sequence.batches import SequenceBatches
    from pipeline.phases import Phases, Recipe

    real = torch.tensor([[0.0, 2.0], [2.0, 6.0]])  # means (1, 4), stds (1.414, 2.828)
    assert moment_gap([real], [real]) == 0
    shifted = real + torch.tensor([1.0, 3.0])  # means off by 1 and 3, same spread
    assert moment_gap([shifted], [real]).item() == pytest.approx(2.0)
    doubled = 2 * real - torch.tensor([1.0, 4.0])  # same means, spreads doubled
    assert moment_gap([doubled], [real]).item() == pytest.approx((2**0.5 + 8**0.5) / 2)

    # Sequences: each (step, channel) value, then every step change of a channel (the mask
    # channel left out); ramps shuffled in time differ from ramps in their step changes.
    ramp = torch.linspace(-1, 1, 16)[None, :, None] * torch.linspace(0.2, 1, 64)[:, None, None]
    smooth = torch.cat([ramp, torch.ones_like(ramp)], dim=2)
    jitter = smooth[:, torch.randperm(16, generator=torch.Generator().manual_seed(0))]
    views = SequenceBatches.moment_views
    assert [v.shape for v in views(None, smooth)] == [(64, 16), (64 * 15, 1)]
    assert moment_gap(views(None, jitter)[1:], views(None, smooth)[1:]) > 0.1

    from ganmodels.sequence.nets import build_discriminator, build_generator

    cfg = {"architecture": "tcn", "z_dim": 8, "seq_len": 16, "features": 1, "g_channels": 8,
           "d_channels": 8, "step_noise": 1}  # fmt: skip
    after = []
    for weight in (0.0, 10.0):
        torch.manual_seed(0)
        G, D = build_generator(cfg), build_discriminator(cfg)
        recipe = Recipe(
            objective="hinge", lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.9), d_steps=1, r1_gamma=0.0,
            r1_interval=16, gp_weight=0.0, ema_decay=0.9, augment=(), augment_p=0.0,
            ada_target=0.0, ada_interval=4, ada_speed_images=100, moment_weight=weight,
        )  # fmt: skip
        phases = Phases(G, D, copy.deepcopy(G), recipe, moment_views=lambda x: views(None, x))
        phases.step([(smooth, None)], 0, torch.Generator().manual_seed(1))
        after.append(torch.cat([p.detach().flatten() for p in G.parameters()]))
    assert not torch.equal(after[0], after[1])

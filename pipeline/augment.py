"""`gan augment`: a training set of the prepared real rows (train and validation) plus a
registered model's samples, at a chosen ratio and class balance, with a manifest of which rows
are synthetic. The model's kind reads the real rows, asks for a class and writes the set.

Nothing here imports ganmodels at module level (see pipeline/sample.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import kinds, paths
from pipeline.config import load_params
from pipeline.data import read_schema
from pipeline.tracking import active_tracking, client, tracking_uri

BALANCES = ("train", "equal")


def synthetic_counts(real: list[int], total: int, balance: str) -> list[int]:
    """Synthetic rows per class, `total` in all: `train` at the real shares (largest
    remainders), `equal` to the smallest classes first, so that real plus synthetic counts
    come as close to equal as `total` allows."""
    if balance not in BALANCES:
        raise ValueError(f"--balance must be one of {BALANCES}, got {balance!r}")
    counts = np.asarray(real, np.int64)
    if balance == "train":
        exact = total * counts / max(counts.sum(), 1)
        out = np.floor(exact).astype(np.int64)
        out[np.argsort(-(exact - out), kind="stable")[: total - out.sum()]] += 1
        return out.tolist()
    out = np.zeros_like(counts)
    for _ in range(total):  # one row at a time to the smallest class (first of ties)
        out[np.argmin(counts + out)] += 1
    return out.tolist()


def class_seed(seed: int, k: int) -> int:
    """Each class's own sampling seed: its latents apart from every other class's."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def augment(
    model: Any, prepared: Path, ratio: float, balance: str, seed: int, out: Path
) -> dict[str, Any]:
    """Write the real rows (train, validation) plus round(ratio x their count) samples of
    `model` to out, classes as `balance` says; returns the manifest (also written beside out)."""
    if ratio < 0:
        raise ValueError(f"--ratio must be >= 0 (synthetic rows per real row), got {ratio}")
    kind = kinds.for_model(model)
    parts_of = kind.augmenter()
    parts_of.check_out(out)
    schema = read_schema(prepared)
    if (held := kinds.for_schema(schema)) is not kind:
        raise ValueError(f"{prepared} holds {held.noun}; the model makes {kind.noun}")
    real, labels = parts_of.real_rows(prepared)
    names = list(schema.get("class_names") or [])
    labelled = bool(names) and (labels >= 0).any()
    if labelled and not parts_of.conditional(model):  # its samples' classes would be unknown
        raise ValueError(
            f"{prepared} is labelled ({len(names)} classes) and this model is unconditional: "
            "gan augment must know each sample's class; train with model.conditional: true"
        )
    per_class = (
        np.bincount(labels[labels >= 0], minlength=len(names)) if labelled else [len(labels)]
    )
    want = synthetic_counts(list(per_class), round(ratio * len(labels)), balance)
    parts: list[tuple[Any, np.ndarray]] = []
    for k, n in enumerate(want):
        if n:
            ask = parts_of.class_request(k, schema) if labelled else {}
            frame = pd.DataFrame({"n": [n], "seed": [class_seed(seed, k)], **ask})
            parts.append((model.predict(frame), np.full(n, k if labelled else -1)))
    where = parts_of.write(real, labels, parts, names, out)
    manifest = {
        "written": where,
        "marked_by": parts_of.MARKER,
        "ratio": ratio,
        "balance": balance,
        "seed": seed,
        "data_hash": schema["data_hash"],
        "rows": {"real": int(len(labels)), "synthetic": int(sum(want))},
        "classes": {
            (names[k] if labelled else "all"): {"real": int(r), "synthetic": int(s)}
            for k, (r, s) in enumerate(zip(per_class, want, strict=True))
        },
    }
    paths.write_json(manifest_path(out), manifest)
    return manifest


def manifest_path(out: Path) -> Path:
    """Where the manifest goes: inside an output folder, else beside the file."""
    return out / "manifest.json" if out.suffix == "" else out.with_name(out.name + ".manifest.json")


def main(
    model_uri: str | None, ratio: float, balance: str, seed: int, out: str, params_path: str
) -> None:
    """Load the model by URI (default: the champion), check it was trained on this project's
    prepared data, write the augmented set and its manifest."""
    from pipeline.integrity import load_verified, registered_version

    name = load_params(params_path).register.model_name
    model_uri = model_uri or f"models:/{name}@champion"
    schema = read_schema(paths.PREPARED)
    uri = tracking_uri(paths.project_root())
    cli = client(uri)
    with active_tracking(uri):
        version = registered_version(model_uri, cli)
    # A registered version (not a logged model's id, models:/m-...): its registered data hash
    # must be the prepared data's.
    trained_on = version.tags.get("data_hash") if version is not None else None
    if trained_on and trained_on != schema["data_hash"]:
        raise ValueError(
            f"{model_uri} (v{version.version}) was trained on data {trained_on[:12]}, "
            f"{paths.PREPARED} holds {schema['data_hash'][:12]}: rerun `dvc repro prepare` "
            "for that data, or name a model trained on this one"
        )
    with active_tracking(uri):
        model = load_verified(model_uri, cli, version)  # refuses files altered since review
    manifest = augment(model, paths.PREPARED, ratio, balance, seed, Path(out))
    rows = manifest["rows"]
    print(
        f"augment: {rows['real']} real + {rows['synthetic']} synthetic rows from {model_uri} "
        f"(ratio {ratio:g}, balance {balance}, seed {seed}) -> {manifest['written']}; "
        f"manifest {manifest_path(Path(out))}"
    )
    print(json.dumps(manifest["classes"]))

"""prepare for sequences: read and check, split (stratified by label), fit the per-channel
scaling on train steps only, write the shards; the schema's content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganmodels.sequence.derived import find_channels
from ganmodels.sequence.scaling import Scaling, lengths
from ganmodels.sequence.statics import static_channels
from pipeline.data import FORMAT_VERSION, three_splits
from pipeline.kinds.sequence.read import SequenceSet, read_source
from pipeline.kinds.sequence.shards import write_split

if TYPE_CHECKING:
    from pipeline.config import DataConfig


def _data_hash(data: SequenceSet, splits: dict[str, np.ndarray]) -> str:
    """sha256 of the content: channels, class names, then each split's values and labels."""
    h = hashlib.sha256()
    header = {"channels": data.channels, "class_names": data.class_names}
    h.update(json.dumps(header, sort_keys=True).encode())
    for split, rows in splits.items():
        h.update(f"\n{split}:{len(rows)}\n".encode())
        h.update(np.ascontiguousarray(data.values[rows], "<f4").tobytes())
        labels = np.full(len(rows), -1) if data.labels is None else data.labels[rows]
        h.update(labels.astype("<i8").tobytes())
    return h.hexdigest()


def _histogram(data: SequenceSet, rows: np.ndarray) -> dict[str, int]:
    if data.labels is None:
        return {}
    counts = np.bincount(data.labels[rows], minlength=len(data.class_names))
    return {name: int(k) for name, k in zip(data.class_names, counts, strict=True)}


def _derived(
    cfg: DataConfig, data: SequenceSet, scaling: Scaling, train: np.ndarray
) -> list[dict[str, Any]]:
    """Series channels that follow an earlier one on the train split (data.find_derived)."""
    if not cfg.find_derived:
        return []
    statics = set(static_channels(data.statics))
    series = [c for c in range(len(data.channels)) if c not in statics]
    # Fewer distinct values than a levels column has could pass for a relation by chance.
    model = scaling.to_model(data.values[train])
    return find_channels(model, series, data.channels, cfg.max_levels + 1)


def prepare_sequences(cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
    """Read, split and write the shards; return the schema (schema.json is the caller's)."""
    data = read_source(cfg, root)
    splits = three_splits(data.labels, len(data.values), cfg.holdout_fraction,
                          cfg.validation_fraction, cfg.split_seed)  # fmt: skip
    train = splits["train"]
    shards = {
        split: write_split(
            data.values[rows],
            None if data.labels is None else data.labels[rows],
            [data.ids[i] for i in rows],
            out_dir,
            split,
            cfg.rows_per_shard,
        )  # fmt: skip
        for split, rows in splits.items()
    }
    steps = lengths(data.values)
    t = data.values.shape[1]
    scaling = Scaling.fit(data.values[train])
    train_steps = steps[train]
    by_class = [] if data.labels is None else [
        np.bincount(train_steps[data.labels[train] == k], minlength=t + 1).tolist()
        for k in range(len(data.class_names))
    ]  # fmt: skip
    shares = np.bincount(data.labels[train], minlength=len(data.class_names)) / len(train) if (
        data.labels is not None
    ) else np.array([])  # fmt: skip
    return {
        "format_version": FORMAT_VERSION,
        "source": cfg.source,
        "kind": "sequence",
        "seq_len": int(data.values.shape[1]),
        "channels": data.channels,
        "statics": data.statics,
        "id_column": data.id_column,
        "time_column": data.time_column,
        "labeled": data.labels is not None,
        "num_classes": len(data.class_names),
        "class_names": data.class_names,
        "class_shares": [round(float(s), 6) for s in shares],
        "rows": {**{k: len(v) for k, v in splits.items()}, "total": len(data.values)},
        "class_histogram": {split: _histogram(data, rows) for split, rows in splits.items()},
        "lengths": {"min": int(steps.min()), "max": int(steps.max()), "mean": float(steps.mean())},
        # Train sequences per length (0..T), overall and per class: G draws its lengths by them.
        "length_counts": {
            "all": np.bincount(train_steps, minlength=t + 1).tolist(),
            "by_class": by_class,
        },
        # Fitted on the train split only; travels with the data into every model config.
        "scaling": scaling.to_dict(),
        # Channels that are a monotone function of an earlier one on train: G computes them.
        "derived": _derived(cfg, data, scaling, train),
        "data_hash": _data_hash(data, splits),
        "shards": shards,
    }


def summary(schema: dict[str, Any]) -> str:
    """Counts, shape, lengths and classes."""
    rows, span = schema["rows"], schema["lengths"]
    steps = (
        f"{span['min']}-{span['max']} steps"
        if span["min"] < span["max"]
        else f"{span['max']} steps"
    )
    names = schema["class_names"]
    classes = f"{len(names)} classes ({', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
    return "\n".join(
        [
            f"prepared {schema['source']}: {rows['total']} sequences (train {rows['train']}, "
            f"validation {rows['validation']}, holdout {rows['holdout']}), {steps} x "
            f"{len(schema['channels'])} channels, "
            + (classes if schema["labeled"] else "unlabeled"),
            *(
                f"{d['column']} is a function of {d['source_column']}: computed, not generated"
                for d in schema.get("derived", [])
            ),
            f"data_hash {schema['data_hash'][:12]}",
        ]
    )

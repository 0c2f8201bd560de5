"""prepare for tables: table -> checked column schema, train/validation/holdout Parquet shards of
the typed rows, the fitted transformer (transformer.json) and the schema's content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ganmodels.tabular.rules import RuleSettings
from ganmodels.tabular.transformer import NUMERIC, TRUE_WORDS, TableTransformer
from pipeline import paths
from pipeline.data import FORMAT_VERSION, three_splits
from pipeline.kinds.tabular.read import (
    EMBEDDED_LABELS,
    Column,
    TableError,
    infer_schema,
    read_table,
)
from pipeline.kinds.tabular.shards import TRANSFORMER

if TYPE_CHECKING:
    from pipeline.config import DataConfig


def _label_codes(df: pd.DataFrame, columns: list[Column], label: str | None) -> np.ndarray | None:
    if label is None:
        return None
    col = next(c for c in columns if c.name == label)
    if col.kind not in ("categorical", "boolean") or col.nullable:
        raise TableError(
            f"data.label {label!r} is a {'nullable ' if col.nullable else ''}{col.kind} column: "
            "the label must be categorical (or boolean) with no missing values"
        )
    values = df[label].map(lambda v: v.item() if isinstance(v, np.generic) else v)
    if col.kind == "boolean":  # levels are (false, true), whatever words spell them
        return values.astype(str).str.strip().str.lower().isin(TRUE_WORDS).to_numpy(np.int64)
    return values.map({v: i for i, v in enumerate(col.categories)}).to_numpy(dtype=np.int64)


def _rule_settings(cfg: DataConfig) -> RuleSettings:
    """How prepare learns value rules and implications (params.yaml's data keys)."""
    return RuleSettings(
        cfg.step_share, cfg.heap_share, cfg.max_levels, cfg.find_derived, cfg.support_share,
        cfg.implication_share, cfg.order_share, cfg.find_bounds,
    )  # fmt: skip


def _declared_rules(cfg: DataConfig, columns: list[Column]) -> dict[str, dict[str, Any]]:
    """data.columns' value rules by column; fails naming a rule on a column that takes none."""
    kinds = {c.name: c.kind for c in columns}
    out = {}
    for name, spec in cfg.columns.items():
        rules = spec.rules()
        if rules and kinds[name] not in NUMERIC:
            raise TableError(
                f"data.columns.{name}: {', '.join(rules)} apply to numeric columns "
                f"(continuous, integer, datetime); {name!r} is {kinds[name]}"
            )
        out[name] = rules
    for name, rules in out.items():
        for key in ("derived_from", "at_least"):
            source = rules.get(key)
            if source is None:
                continue
            if kinds.get(source) not in NUMERIC or source == name:
                what = "itself" if source == name else f"{kinds.get(source, 'not a column')}"
                raise TableError(
                    f"data.columns.{name}.{key}: {source!r} must be another numeric column "
                    f"of the table ({source!r} is {what})"
                )
            if out.get(source, {}).get("derived_from"):
                raise TableError(
                    f"data.columns.{name}.{key}: {source!r} is derived itself; name the "
                    f"column it is derived from, {out[source]['derived_from']!r}"
                )
        lower = out.get(rules.get("at_least", ""), {}).get("at_least")
        if lower:  # decoding needs no chain: the lower column is generated as it is
            raise TableError(
                f"data.columns.{name}.at_least: {rules['at_least']!r} is itself at least "
                f"{lower!r}; name {lower!r}, or declare no order on {rules['at_least']!r}"
            )
        if rules.get("at_least") and rules.get("derived_from"):
            raise TableError(
                f"data.columns.{name}: derived_from and at_least exclude each other (a derived "
                "column is computed, not generated)"
            )
    return out


def _column_stats(df: pd.DataFrame, columns: list[Column]) -> dict[str, dict[str, Any]]:
    """Per column, on the train split: nulls, and numeric summary or level counts."""
    out: dict[str, dict[str, Any]] = {}
    for col in columns:
        s = df[col.name]
        stats: dict[str, Any] = {"kind": col.kind, "nulls": int(s.isna().sum())}
        if col.kind in ("continuous", "integer"):
            x = pd.to_numeric(s, errors="coerce").dropna()
            stats |= {k: round(float(getattr(x, k)()), 6) for k in ("mean", "std", "min", "max")}
        elif col.kind == "datetime":
            when = pd.to_datetime(s, errors="coerce", format="mixed").dropna()
            stats |= {"min": str(when.min()), "max": str(when.max())}
        else:
            counts = s.astype(str).where(s.notna()).value_counts()
            stats["levels"] = {str(k): int(v) for k, v in counts.items()}
        out[col.name] = stats
    return out


def _data_hash(columns: list[Column], splits: dict[str, pd.DataFrame]) -> str:
    """sha256 of the column schema and each split's rows (pandas' stable row hashes)."""
    h = hashlib.sha256(json.dumps([c.to_dict() for c in columns], default=str).encode())
    for split, df in splits.items():
        h.update(f"\n{split}:{len(df)}\n".encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _write_shards(df: pd.DataFrame, out_dir: Path, split: str, per_shard: int) -> list[str]:
    (out_dir / split).mkdir()
    names = []
    # At least one shard, empty or not: a reader gets the columns and their types from it.
    for k, start in enumerate(range(0, max(len(df), 1), per_shard)):
        name = f"{split}/part-{k:05d}.parquet"
        table = pa.Table.from_pandas(df.iloc[start : start + per_shard], preserve_index=False)
        pq.write_table(table, out_dir / name, compression="zstd")
        names.append(name)
    return names


def prepare_table(cfg: DataConfig, out_dir: Path, root: Path) -> dict[str, Any]:
    """Read, check, split, fit the transformer on train, write shards; return the schema."""
    df = read_table(cfg.source, root)
    label = cfg.label if cfg.label is not None else EMBEDDED_LABELS.get(cfg.source)
    kinds = {name: spec.kind for name, spec in cfg.columns.items() if spec.kind is not None}
    columns = infer_schema(df, cfg.source, cfg.max_categories, kinds, label)
    declared = _declared_rules(cfg, columns)
    df = df.reset_index(drop=True)
    labels = _label_codes(df, columns, label)
    rows = three_splits(labels, len(df), cfg.holdout_fraction, cfg.validation_fraction,
                        cfg.split_seed)  # fmt: skip
    splits = {name: df.iloc[r] for name, r in rows.items()}
    transformer = TableTransformer.fit(
        splits["train"],
        [c.to_dict() for c in columns],
        max_modes=cfg.max_modes,
        fit_rows=cfg.fit_rows,
        seed=cfg.split_seed,
        rules=_rule_settings(cfg),
        declared=declared,
        label=label,
    )
    # Values only the holdout (or validation) has cannot be encoded: name them now.
    for name in ("validation", "holdout"):
        transformer.transform(splits[name].reset_index(drop=True))
    shards = {
        name: _write_shards(part, out_dir, name, cfg.rows_per_shard)
        for name, part in splits.items()
    }
    state = json.dumps(transformer.to_dict(), indent=1, default=str) + "\n"
    paths.atomic_write(out_dir / TRANSFORMER, lambda tmp: tmp.write_text(state))
    label_col = next((c for c in columns if c.name == label), None)
    class_names = [str(v) for v in label_col.categories] if label_col else []
    histogram = {
        name: {
            class_names[i]: int(n)
            for i, n in enumerate(np.bincount(labels[split_rows], minlength=len(class_names)))
        }
        if labels is not None
        else {}
        for name, split_rows in rows.items()
    }
    return {
        "format_version": FORMAT_VERSION,
        "source": cfg.source,
        "kind": "tabular",
        "columns": [c.to_dict() for c in columns],
        "label": label,
        "labeled": label is not None,
        "num_classes": len(class_names),
        "class_names": class_names,
        "encoded_width": transformer.width,
        "numeric_columns": [c.name for c in columns if c.kind in NUMERIC],
        "rows": {**{name: len(r) for name, r in rows.items()}, "total": len(df)},
        "class_histogram": histogram,
        "column_stats": _column_stats(splits["train"], columns),
        "data_hash": _data_hash(columns, splits),
        "transformer": TRANSFORMER,
        "shards": shards,
    }


def summary(schema: dict[str, Any]) -> str:
    """A short human summary of a prepared table."""
    rows = schema["rows"]
    kinds = ", ".join(f"{c['name']} ({c['kind']}{', nullable' if c['nullable'] else ''})"
                      for c in schema["columns"])  # fmt: skip
    return (
        f"prepared {schema['source']}: {rows['total']} rows (train {rows['train']}, validation "
        f"{rows['validation']}, holdout {rows['holdout']}), {len(schema['columns'])} columns: "
        f"{kinds}; encoded width {schema['encoded_width']}\ndata_hash {schema['data_hash'][:12]}"
    )

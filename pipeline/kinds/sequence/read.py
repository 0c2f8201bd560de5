"""Reading sequences: an embedded set (JapaneseVowels from sktime's wheel, TimeGAN's sines), a
long-format CSV/Parquet table (an id column, an optional time column, numeric channels, an
optional label and static columns), one long series cut into windows, or a .npy array
[N, T, C].

Every bad input fails here, naming the file, column, sequence id and row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.errors import DataError

if TYPE_CHECKING:
    from pipeline.config import DataConfig


@dataclass(frozen=True)
class SequenceSet:
    """Sequences [N, T, C] float64 (NaN after each one's end), their labels and names."""

    values: np.ndarray
    labels: np.ndarray | None  # int64 [N] indices into class_names
    class_names: list[str]
    channels: list[str]
    ids: list[str]  # each sequence's id in the source (for messages and lineage)
    id_column: str = "sequence_id"  # how a long-format output names the id
    time_column: str | None = None
    # Static columns as constant channels (ganmodels/sequence/statics.py has the spec's form).
    statics: list[dict[str, Any]] = field(default_factory=list)


def _japanese_vowels() -> SequenceSet:
    """640 utterances, 12 LPC channels, 7-29 steps, 9 speakers (sktime's bundled copy)."""
    from sktime.datasets import load_japanese_vowels

    frame, y = load_japanese_vowels(return_type="pd-multiindex")
    ids = frame.index.get_level_values(0)
    order = pd.unique(ids)
    series = [frame.loc[i].to_numpy(np.float64) for i in order]
    names = [f"lpc_{k + 1}" for k in range(frame.shape[1])]
    return _from_list(series, [str(v) for v in y], names, [str(i) for i in order])


def sines(n: int = 1000, t: int = 24, c: int = 5, seed: int = 0) -> SequenceSet:
    """TimeGAN's sines: each channel sin(f * j + phase), f and phase ~ U(0, 0.1), in [0, 1]."""
    rng = np.random.default_rng(seed)
    freq, phase = rng.uniform(0, 0.1, (2, n, 1, c))
    values = (np.sin(freq * np.arange(t)[None, :, None] + phase) + 1) / 2
    return SequenceSet(
        values, None, [], [f"sine_{k + 1}" for k in range(c)], list(map(str, range(n)))
    )


# Sequence sets that ship inside installed packages (or are generated), so the kind works offline.
EMBEDDED: dict[str, Callable[[], SequenceSet]] = {
    "japanese_vowels": _japanese_vowels,
    "sines": sines,
}


def _from_list(
    series: list[np.ndarray], labels: list[str] | None, channels: list[str], ids: list[str]
) -> SequenceSet:
    """Pad [T_i, C] arrays with NaN to the longest; labels as indices into sorted names."""
    longest = max(len(s) for s in series)
    values = np.full((len(series), longest, len(channels)), np.nan)
    for i, s in enumerate(series):
        values[i, : len(s)] = s
    if labels is None:
        return SequenceSet(values, None, [], channels, ids)
    names = sorted(set(labels))
    index = {name: k for k, name in enumerate(names)}
    return SequenceSet(values, np.array([index[v] for v in labels]), names, channels, ids)


def _show(value: object) -> str:
    """A cell's value as the user wrote it (numpy scalars as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _row(i: int) -> str:
    return f"row {i + 1}"  # 1-based data row (row 1 follows a CSV header)


def _check_numbers(path: Path, df: pd.DataFrame, channels: list[str], ids: pd.Series) -> None:
    """Numeric, finite channels (the first bad value named by column, sequence and row)."""
    for col in channels:
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise DataError(f"{path}: channel column {col!r} is not numeric ({df[col].dtype})")
        bad = ~np.isfinite(df[col].to_numpy(np.float64))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: column {col!r}, sequence {ids.iloc[i]!r}, {_row(i)}: "
                f"{df[col].iloc[i]} is not a finite number"
            )


def _long(path: Path, df: pd.DataFrame, cfg: DataConfig) -> SequenceSet:
    """Long format: one row per (sequence, step), each sequence's rows together."""
    id_col, time_col, label = cfg.id_column, cfg.time_column, cfg.label
    assert id_col is not None
    named = {"data.id_column": id_col, "data.time_column": time_col, "data.label": label}
    for key, col in [*named.items(), *(("data.static_columns", c) for c in cfg.static_columns)]:
        if col is not None and col not in df.columns:
            raise DataError(f"{path}: {key} {col!r} is not a column ({', '.join(df.columns)})")
    fixed = [c for c in (id_col, time_col, label, *cfg.static_columns) if c is not None]
    channels = [c for c in df.columns if c not in fixed]
    if not channels:
        raise DataError(f"{path}: no channel columns beside the id, time and label columns")
    ids = df[id_col].astype(str)
    _check_numbers(path, df, channels, ids)
    starts = np.flatnonzero(np.r_[True, ids.to_numpy()[1:] != ids.to_numpy()[:-1]])
    runs = ids.iloc[starts]
    again = runs.duplicated()
    if again.any():
        i = int(starts[np.flatnonzero(again.to_numpy())[0]])
        raise DataError(
            f"{path}: sequence {ids.iloc[i]!r} (column {id_col!r}) starts again at {_row(i)}: "
            "each sequence's rows must be together"
        )
    series, labels = [], []
    for start, stop in zip(starts, [*starts[1:], len(df)], strict=True):
        part = df.iloc[start:stop]
        name = ids.iloc[start]
        if time_col is not None:
            repeated = part[time_col].duplicated()
            if repeated.any():
                i = start + int(np.flatnonzero(repeated.to_numpy())[0])
                raise DataError(
                    f"{path}: sequence {name!r}, {_row(i)}: time "
                    f"{_show(part[time_col].iloc[i - start])} (column {time_col!r}) repeats"
                )
            part = part.sort_values(time_col, kind="stable")
        if len(part) < 2:
            raise DataError(
                f"{path}: sequence {name!r} ({_row(start)}) has {len(part)} step: need >= 2"
            )
        for col, what in [(label, "label"), *((c, "static") for c in cfg.static_columns)]:
            if col is None:
                continue
            text = part[col].astype(object).map(str)  # NaN as "nan": equal to itself
            varies = text != text.iloc[0]
            if varies.any():
                i = start + int(np.flatnonzero(varies.to_numpy())[0])
                raise DataError(
                    f"{path}: sequence {name!r}, {_row(i)}: {what} column {col!r} changes "
                    f"within the sequence ({_show(part[col].iloc[0])} -> {_show(df[col].iloc[i])})"
                )
        if label is not None:
            labels.append(str(part[label].iloc[0]))
        series.append(part[channels].to_numpy(np.float64))
    made = _from_list(series, labels if label else None, channels, list(runs))
    made = replace(made, id_column=id_col, time_column=time_col)
    return _with_statics(path, made, df.iloc[starts], cfg.static_columns, starts)


def _with_statics(
    path: Path, data: SequenceSet, firsts: pd.DataFrame, columns: list[str], starts: np.ndarray
) -> SequenceSet:
    """Static columns (one value per sequence: `firsts`) appended as constant channels: a
    numeric column as itself, any other as a 0/1 channel per level."""
    values, channels, statics = [data.values], list(data.channels), []
    present = ~np.isnan(data.values).any(axis=2, keepdims=True)
    for col in columns:
        cells = firsts[col]
        numeric = pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells)
        if numeric:
            bad = ~np.isfinite(cells.to_numpy(np.float64))
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{path}: static column {col!r}, sequence {data.ids[k]!r}, "
                    f"{_row(int(starts[k]))}: {_show(cells.iloc[k])} is not a finite number"
                )
            codes = cells.to_numpy(np.float64)[:, None]
            statics.append({"column": col, "kind": "numeric", "channels": [len(channels)]})
            channels.append(col)
        else:
            text = cells.astype(str).to_numpy()
            levels = sorted(set(text))
            codes = (text[:, None] == np.asarray(levels)[None, :]).astype(np.float64)
            idx = list(range(len(channels), len(channels) + len(levels)))
            statics.append({"column": col, "kind": "categorical", "channels": idx,
                            "levels": levels})  # fmt: skip
            channels += [f"{col}={level}" for level in levels]
        values.append(np.where(present, codes[:, None, :], np.nan))
    return replace(data, values=np.concatenate(values, axis=2), channels=channels, statics=statics)


def _windows(path: Path, df: pd.DataFrame, cfg: DataConfig) -> SequenceSet:
    """One long series (no id column) cut into windows of data.window steps, data.stride apart."""
    if cfg.window is None:
        raise DataError(
            f"{path}: no data.id_column, so the file is one long series: set data.window (and "
            "data.stride) to cut it into sequences, or data.id_column to name each row's sequence"
        )
    if cfg.label is not None:
        raise DataError(f"{path}: data.label needs data.id_column (a window has no label)")
    channels = [c for c in df.columns if c != cfg.time_column]
    if cfg.time_column is not None:
        if cfg.time_column not in df.columns:
            raise DataError(f"{path}: data.time_column {cfg.time_column!r} is not a column")
        repeated = df[cfg.time_column].duplicated()
        if repeated.any():
            i = int(np.flatnonzero(repeated.to_numpy())[0])
            raise DataError(f"{path}: {_row(i)}: time {_show(df[cfg.time_column].iloc[i])} repeats")
        df = df.sort_values(cfg.time_column, kind="stable")
    _check_numbers(path, df, channels, pd.Series(["series"] * len(df)))
    if cfg.window > len(df):
        raise DataError(
            f"{path}: data.window {cfg.window} is longer than the series ({len(df)} rows)"
        )
    data = df[channels].to_numpy(np.float64)
    starts = range(0, len(df) - cfg.window + 1, cfg.stride)
    values = np.stack([data[s : s + cfg.window] for s in starts])
    return SequenceSet(
        values, None, [], channels, [f"rows {s + 1}-{s + cfg.window}" for s in starts]
    )


def _npy(path: Path) -> SequenceSet:
    """An array [N, T, C]; NaN steps at a sequence's end mark a shorter sequence."""
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric array ({exc})") from None
    if values.ndim != 3 or not np.issubdtype(values.dtype, np.number):
        raise DataError(
            f"{path}: expected a numeric array [N, T, C], got {values.dtype} {values.shape}"
        )
    values = values.astype(np.float64)
    if np.isinf(values).any():
        n, t, c = np.argwhere(np.isinf(values))[0]
        raise DataError(f"{path}: sequence {n}, step {t}, channel {c}: inf")
    gap = np.isnan(values)
    present = ~gap.all(axis=2)
    length = present.sum(axis=1)
    # NaN may only fill every channel of the steps after a sequence's end.
    inside = (gap.any(axis=2) & present) | (
        present != (np.arange(values.shape[1]) < length[:, None])
    )
    if inside.any():
        n, t = np.argwhere(inside)[0]
        raise DataError(
            f"{path}: sequence {n}, step {t}: NaN inside the sequence (NaN may only fill every "
            "channel after a sequence's end)"
        )
    if (length < 2).any():
        n = int(np.flatnonzero(length < 2)[0])
        raise DataError(f"{path}: sequence {n} has {length[n]} step(s): need >= 2")
    channels = [f"channel_{k + 1}" for k in range(values.shape[2])]
    return SequenceSet(values, None, [], channels, list(map(str, range(len(values)))))


def read_source(cfg: DataConfig, root: Path) -> SequenceSet:
    """The sequences data.source names (see the module docstring)."""
    if cfg.static_columns and cfg.id_column is None:
        raise DataError(
            f"data.static_columns {cfg.static_columns}: static columns need a long-format table "
            "(data.id_column names each row's sequence)"
        )
    if cfg.source in EMBEDDED:
        return EMBEDDED[cfg.source]()
    path = Path(cfg.source) if Path(cfg.source).is_absolute() else root / cfg.source
    if not path.is_file():
        names = ", ".join(sorted(EMBEDDED))
        raise DataError(f"data.source {cfg.source!r}: no such file, nor an embedded set ({names})")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _npy(path)
    try:
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: expected a .csv, .parquet or .npy file")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    if df.empty:
        raise DataError(f"{path}: no data rows")
    return _long(path, df, cfg) if cfg.id_column is not None else _windows(path, df, cfg)

"""Tables for the tabular GAN: read a CSV/Parquet file or the embedded default, infer and check
the schema of each column. Bad input fails naming the file, the column and the row."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.transformer import FALSE_WORDS, TRUE_WORDS

KINDS = ("continuous", "integer", "categorical", "boolean", "datetime")
# An integer column with at most this many distinct values is modelled as categorical (e.g. a
# year or a rating): a mixture of Gaussians fits a handful of spikes badly.
FEW_INTEGERS = 10


class TableError(ValueError):
    """A table that cannot be modelled as it is; the message names the file, column and row."""


@dataclass(frozen=True)
class Column:
    """One column's schema: what it is and what the inverse transform must give back."""

    name: str
    kind: str  # one of KINDS
    nullable: bool
    dtype: str  # pandas dtype to restore
    categories: tuple[Any, ...] = ()  # categorical/boolean levels, in order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (schema.json)."""
        return {**asdict(self), "categories": [_plain(c) for c in self.categories]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Column:
        """Inverse of to_dict."""
        return cls(**{**d, "categories": tuple(d.get("categories", ()))})


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


# Tables that ship inside installed packages, so the tabular pipeline works offline.
EMBEDDED: dict[str, Callable[[], pd.DataFrame]] = {"penguins": _penguins}
# An embedded table's own target: its data.label when that is null (a file has none).
EMBEDDED_LABELS = {"penguins": "species"}


def read_table(source: str, root: Path) -> pd.DataFrame:
    """The embedded table named `source`, or a CSV/Parquet file at `source` (relative to root)."""
    if source in EMBEDDED:
        return EMBEDDED[source]()
    path = (root / source) if not Path(source).is_absolute() else Path(source)
    if not path.is_file():
        names = ", ".join(sorted(EMBEDDED))
        raise TableError(f"data.source {source!r}: no such file, nor an embedded table ({names})")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            raise TableError(f"{path}: expected a .csv or .parquet file")
    except pd.errors.EmptyDataError:
        raise TableError(f"{path}: the file is empty") from None
    if df.empty:
        raise TableError(f"{path}: no data rows (columns: {', '.join(map(str, df.columns))})")
    return df


def _first_row(mask: pd.Series) -> int:
    """1-based data row of the first True (row 1 is the first row after a CSV header)."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1


def _as_bool(s: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(s):
        return s
    if pd.api.types.is_numeric_dtype(s):
        return None
    words = s.dropna().astype(str).str.strip().str.lower()
    if len(words) and words.isin(TRUE_WORDS | FALSE_WORDS).all():
        return s.map(lambda v: v if pd.isna(v) else str(v).strip().lower() in TRUE_WORDS)
    return None


_OPPOSITE = {"yes": "no", "true": "false", "t": "f", "y": "n"}
_OPPOSITE |= {v: k for k, v in _OPPOSITE.items()}


def _spellings(s: pd.Series, as_bool: pd.Series) -> tuple[str, str]:
    """(false, true) as the text column writes them: the commonest spelling of each."""
    text = s.dropna().astype(str).str.strip()
    truth = as_bool.dropna().astype(bool)
    found = {flag: text[truth == flag].value_counts() for flag in (False, True)}
    chosen = {flag: str(c.index[0]) for flag, c in found.items() if len(c)}
    for flag in (False, True):  # a column of only "yes" still needs a word for false
        if flag not in chosen:
            other = chosen[not flag]
            word = _OPPOSITE[other.lower()]
            chosen[flag] = (
                word.upper()
                if other.isupper()
                else (word.capitalize() if other[:1].isupper() else word)
            )
    return chosen[False], chosen[True]


def _numeric(s: pd.Series, where: str) -> pd.Series | None:
    """s as numbers; None if it is text; fails naming the row when it is numbers with text."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    present = s.notna()
    numbers = pd.to_numeric(s.where(present), errors="coerce")
    parsed = numbers.notna()
    if parsed.sum() == 0:
        return None
    if parsed.sum() >= 0.9 * present.sum():  # numbers with a few stray strings: a mistake
        bad = present & ~parsed
        if bad.any():
            row = _first_row(bad)
            raise TableError(
                f"{where}: numeric column has text {s[bad].iloc[0]!r} in row {row} "
                f"({int(bad.sum())} such row(s)); fix the data or declare the column "
                "categorical in data.columns"
            )
        return numbers.astype("float64")
    return None


def _is_datetime(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    if pd.api.types.is_numeric_dtype(s):
        return False
    sample = s.dropna().astype(str).head(200)
    if (
        sample.empty
        or not sample.str.contains(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}").all()
    ):
        return False
    return bool(pd.to_datetime(sample, errors="coerce", format="mixed").notna().all())


def _inferred_kind(s: pd.Series, where: str) -> str:
    """boolean, datetime, categorical (text, or an integer with few values), integer or
    continuous."""
    if _as_bool(s) is not None:
        return "boolean"
    if _is_datetime(s):
        return "datetime"
    numbers = _numeric(s, where)
    if numbers is None:
        return "categorical"
    finite = numbers.dropna()
    integral = bool(np.isfinite(finite).all() and (finite == np.round(finite)).all())
    few = finite.nunique() <= FEW_INTEGERS
    return ("categorical" if few else "integer") if integral else "continuous"


def infer_column(
    s: pd.Series, where: str, max_categories: int, declared: str | None = None
) -> Column:
    """The schema of one column (declared kind wins over inference); checks its values."""
    name = str(s.name)
    if s.isna().all():
        raise TableError(f"{where}: the column is entirely null; drop it or fill it")
    nullable = bool(s.isna().any())
    kind = declared or _inferred_kind(s, where)
    if kind in ("continuous", "integer"):
        numbers = _numeric(s, where)
        if numbers is None:
            raise TableError(
                f"{where}: declared {kind} but holds text, e.g. {s.dropna().iloc[0]!r}"
            )
        infinite = np.isinf(numbers.fillna(0.0))
        if infinite.any():
            raise TableError(
                f"{where}: infinite value {numbers[infinite].iloc[0]} in row {_first_row(infinite)}"
            )
        return Column(name, kind, nullable, str(s.dtype))
    if kind == "datetime":
        when = pd.to_datetime(s, errors="coerce", format="mixed")
        bad = s.notna() & when.isna()
        if bad.any():
            raise TableError(
                f"{where}: not a date/time in row {_first_row(bad)}: {s[bad].iloc[0]!r}"
            )
        return Column(name, kind, nullable, "datetime64[ns]")
    if kind == "boolean":
        as_bool = _as_bool(s)
        if as_bool is None:
            raise TableError(f"{where}: declared boolean but holds {s.dropna().iloc[0]!r}")
        if pd.api.types.is_bool_dtype(s):
            return Column(name, kind, nullable, "boolean", (False, True))
        # Text such as yes/no: keep the file's spellings (false first), so samples read the same.
        return Column(name, kind, nullable, str(s.dtype), _spellings(s, as_bool))
    if kind != "categorical":
        raise TableError(f"{where}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    levels = pd.unique(s.dropna())
    if len(levels) > max_categories:
        raise TableError(
            f"{where}: {len(levels)} distinct values, more than data.max_categories="
            f"{max_categories}; declare it continuous or integer in data.columns, drop it, "
            "or raise the limit"
        )
    with contextlib.suppress(TypeError):  # mixed types: keep first-seen order
        levels = sorted(levels)
    return Column(name, "categorical", nullable, str(s.dtype), tuple(_plain(v) for v in levels))


def infer_schema(
    df: pd.DataFrame,
    source: str,
    max_categories: int,
    declared: dict[str, str] | None = None,
    label: str | None = None,
) -> list[Column]:
    """Schema of every column; fails naming the first bad column (and row), or a missing label."""
    declared = declared or {}
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise TableError(f"{source}: duplicate column names {dupes}")
    for key, where in ((label, "data.label"), *((k, "data.columns") for k in declared)):
        if key is not None and key not in names:
            raise TableError(
                f"{where} names column {key!r}, which {source} does not have "
                f"(columns: {', '.join(names)})"
            )
    return [
        infer_column(df[c], f"{source}, column {c!r}", max_categories, declared.get(str(c)))
        for c in df.columns
    ]

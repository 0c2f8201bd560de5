"""Synthetic-table quality metrics (SDMetrics' definitions): column shapes, pair trends,
detection, ML efficacy and distance to closest record. DataFrames in, floats out; no paths."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ganmodels.tabular.transformer import NUMERIC, numbers


def ks_complement(real: np.ndarray, fake: np.ndarray) -> float:
    """1 - the Kolmogorov-Smirnov statistic between two samples (NaNs dropped): 1 is identical."""
    a, b = np.sort(real[~np.isnan(real)]), np.sort(fake[~np.isnan(fake)])
    if not len(a) or not len(b):
        return 0.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(1.0 - np.abs(cdf_a - cdf_b).max())


def tv_complement(real: pd.Series, fake: pd.Series) -> float:
    """1 - total variation distance between category frequencies (missing is a category)."""
    p = real.astype(object).where(real.notna(), "<null>").value_counts(normalize=True)
    q = fake.astype(object).where(fake.notna(), "<null>").value_counts(normalize=True)
    levels = p.index.union(q.index)
    return float(
        1.0 - 0.5 * (p.reindex(levels, fill_value=0) - q.reindex(levels, fill_value=0)).abs().sum()
    )


def column_shapes(
    real: pd.DataFrame, fake: pd.DataFrame, columns: Sequence[dict[str, Any]]
) -> dict[str, float]:
    """Per column: KS complement (numeric) or TV complement (discrete)."""
    out = {}
    for col in columns:
        name, kind = col["name"], col["kind"]
        if kind in NUMERIC:
            out[name] = ks_complement(numbers(real[name], kind), numbers(fake[name], kind))
        else:
            out[name] = tv_complement(real[name], fake[name])
    return out


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "<null>").astype(str)


def _codes(
    s: pd.Series, kind: str, edges: np.ndarray | None, levels: pd.Index | None
) -> np.ndarray:
    """Discrete codes of a column for contingency tables: quantile bins of numbers, or the
    index of each value among `levels` (both tables' levels: codes factorized per table
    shifted when one lacked a level, and the tables were compared level against wrong level)."""
    if kind in NUMERIC:
        x = numbers(s, kind)
        codes = np.digitize(x, edges).astype(np.int64)
        codes[np.isnan(x)] = -1
        return codes
    return levels.get_indexer(_text(s))


def pair_trends(
    real: pd.DataFrame, fake: pd.DataFrame, columns: Sequence[dict[str, Any]], bins: int = 10
) -> dict[str, float]:
    """Per column pair: correlation similarity 1 - |r_real - r_fake| / 2 for two numeric columns,
    else contingency similarity 1 - TVD of joint frequencies (numbers in real quantile bins)."""
    edges, levels = {}, {}
    for col in columns:
        if col["kind"] in NUMERIC:
            x = numbers(real[col["name"]], col["kind"])
            edges[col["name"]] = np.unique(np.nanquantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
        else:
            both = pd.concat([_text(real[col["name"]]), _text(fake[col["name"]])])
            levels[col["name"]] = pd.Index(sorted(both.unique()))
    out = {}
    for a, b in combinations(columns, 2):
        key = f"{a['name']}|{b['name']}"
        if a["kind"] in NUMERIC and b["kind"] in NUMERIC:
            rs = []
            for df in (real, fake):
                x, y = numbers(df[a["name"]], a["kind"]), numbers(df[b["name"]], b["kind"])
                ok = ~(np.isnan(x) | np.isnan(y))
                rs.append(float(np.corrcoef(x[ok], y[ok])[0, 1]) if ok.sum() > 2 else 0.0)
            rs = [0.0 if np.isnan(r) else r for r in rs]
            out[key] = 1.0 - abs(rs[0] - rs[1]) / 2
            continue
        tables = []
        for df in (real, fake):
            ca = _codes(df[a["name"]], a["kind"], edges.get(a["name"]), levels.get(a["name"]))
            cb = _codes(df[b["name"]], b["kind"], edges.get(b["name"]), levels.get(b["name"]))
            tables.append(
                pd.Series(list(zip(ca.tolist(), cb.tolist(), strict=True))).value_counts(
                    normalize=True
                )
            )
        cells = tables[0].index.union(tables[1].index)
        diff = tables[0].reindex(cells, fill_value=0) - tables[1].reindex(cells, fill_value=0)
        out[key] = float(1.0 - 0.5 * diff.abs().sum())
    return out


class Features:
    """A numeric matrix of a table for classifiers and distances, fitted on real rows: numbers
    standardized (missing -> 0 plus a missing flag), categories one-hot over the real levels."""

    def __init__(self, real: pd.DataFrame, columns: Sequence[dict[str, Any]]) -> None:
        self.columns = list(columns)
        self.stats: dict[str, tuple[float, float]] = {}
        self.levels: dict[str, list[Any]] = {}
        for col in self.columns:
            s = real[col["name"]]
            if col["kind"] in NUMERIC:
                x = numbers(s, col["kind"])
                self.stats[col["name"]] = (float(np.nanmean(x)), float(np.nanstd(x)) or 1.0)
            else:
                self.levels[col["name"]] = sorted(s.dropna().astype(str).unique())

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        """Rows [N, F] float64."""
        parts = []
        for col in self.columns:
            s = df[col["name"]]
            if col["kind"] in NUMERIC:
                mean, std = self.stats[col["name"]]
                x = (numbers(s, col["kind"]) - mean) / std
                parts += [np.nan_to_num(x, nan=0.0)[:, None], np.isnan(x)[:, None].astype(float)]
            else:
                values = s.astype(str).where(s.notna(), None).to_numpy(dtype=object)
                levels = self.levels[col["name"]]
                parts.append(np.stack([values == v for v in levels], axis=1).astype(float))
        return np.concatenate(parts, axis=1)


DETECTORS = ("logistic", "boosted")


def _detector(model: str, seed: int) -> Any:
    """A linear detector, or a gradient-boosted one, which also sees what no straight line
    separates (heaped values, rounding, interactions)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if model == "logistic":
        return LogisticRegression(max_iter=1000)
    if model == "boosted":
        return HistGradientBoostingClassifier(random_state=seed)
    raise ValueError(f"unknown detector {model!r} (known: {', '.join(DETECTORS)})")


def detection_auc(
    real: pd.DataFrame,
    fake: pd.DataFrame,
    columns: Sequence[dict[str, Any]],
    seed: int = 0,
    model: str = "logistic",
) -> float:
    """Cross-validated ROC AUC of a classifier (`model`: logistic or boosted) telling real rows
    from synthetic ones: 0.5 means it cannot tell them apart (the ideal), 1.0 that it always
    can."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    n = min(len(real), len(fake))
    rng = np.random.default_rng(seed)
    real = real.iloc[rng.permutation(len(real))[:n]]
    fake = fake.iloc[rng.permutation(len(fake))[:n]]
    features = Features(real, columns)
    x = np.concatenate([features(real), features(fake)])
    y = np.concatenate([np.zeros(n), np.ones(n)])
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    detector = _detector(model, seed)
    p = cross_val_predict(detector, x, y, cv=folds, method="predict_proba")
    return float(roc_auc_score(y, p[:, 1]))


def column_detection(
    real: pd.DataFrame, fake: pd.DataFrame, columns: Sequence[dict[str, Any]], seed: int = 0
) -> dict[str, float]:
    """Per column, the boosted detector's AUC on that column alone: which column gives the
    synthetic rows away (0.5: none)."""
    return {col["name"]: detection_auc(real, fake, [col], seed, "boosted") for col in columns}


def marginals(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Each column resampled independently: the right shapes, no relations (the floor a
    generator must beat)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {c: train[c].to_numpy()[rng.integers(0, len(train), n)] for c in train.columns}
    ).astype(train.dtypes.to_dict())


def forest(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, seed: int = 0) -> np.ndarray:
    """The fixed downstream classifier of ML efficacy and augmentation gain: a random forest
    of 100 trees fitted on (x, y), its predictions for x_eval."""
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(100, random_state=seed, n_jobs=1)
    return model.fit(x, y).predict(x_eval)


def augmentation(
    synthetic: pd.DataFrame,
    splits: Sequence[pd.DataFrame],
    columns: Sequence[dict[str, Any]],
    target: str,
    seed: int = 0,
) -> dict[str, float]:
    """Macro F1 on the holdout of the forest for `target` trained on the real rows (train and
    validation) alone and on them plus synthetic rows, at the ratio the validation rows
    choose (ganmodels/utility.py); the gain is their difference (0 where ratio 0 won).
    splits: train, validation, holdout."""
    from sklearn.metrics import f1_score

    from ganmodels.utility import augmentation_gain

    train, validation, holdout = splits
    features = Features(train, [c for c in columns if c["name"] != target])

    def xy(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        rows = rows[rows[target].notna()]
        return features(rows), rows[target].astype(str).to_numpy()

    return augmentation_gain(
        xy(train), xy(validation), xy(synthetic), xy(holdout),
        lambda x, y, x_eval: forest(x, y, x_eval, seed),
        lambda y, p: float(f1_score(y, p, average="macro")), seed,
    )  # fmt: skip


def ml_efficacy(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Sequence[dict[str, Any]],
    target: str,
    seed: int = 0,
) -> dict[str, float]:
    """Macro F1 on the real holdout of a classifier for `target` trained on synthetic rows,
    against the same classifier trained on the real train rows (the ceiling) and the
    majority class of train predicted for every row (the floor)."""
    from sklearn.metrics import f1_score

    inputs = [c for c in columns if c["name"] != target]
    features = Features(train, inputs)
    truth = holdout[target].astype(str).to_numpy()
    out = {}
    for name, rows in (("synthetic", synthetic), ("real", train)):
        rows = rows[rows[target].notna()]
        guess = forest(features(rows), rows[target].astype(str).to_numpy(), features(holdout), seed)
        out[f"f1_{name}"] = float(f1_score(truth, guess, average="macro"))
    majority = train[target].dropna().astype(str).mode().iloc[0]
    out["f1_majority"] = float(
        f1_score(truth, np.full(len(truth), majority), average="macro", zero_division=0)
    )
    out["ratio"] = out["f1_synthetic"] / out["f1_real"] if out["f1_real"] else 0.0
    return out


def distance_to_closest_record(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: Sequence[dict[str, Any]],
) -> dict[str, float]:
    """Privacy check: median distance of synthetic rows to their closest train row, against the
    same for real holdout rows (synthetic much closer than holdout suggests copied records), and
    the share of synthetic rows closer to train than 95% of holdout rows are."""
    from ganmodels.privacy import closest

    features = Features(train, columns)
    ref = features(train)
    syn, hold = closest(features(synthetic), ref), closest(features(holdout), ref)
    threshold = np.quantile(hold, 0.05)
    return {
        "synthetic_median": float(np.median(syn)),
        "holdout_median": float(np.median(hold)),
        "ratio": float(np.median(syn) / np.median(hold)) if np.median(hold) else 0.0,
        "share_closer_than_holdout_p5": float((syn < threshold).mean()),
    }

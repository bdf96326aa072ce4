"""Tabular drift: a test per column (numeric and categorical) and SDK v1's classifier-based
``datadrift_coefficient``.

Columns are sorted as SDK v1 did: categorical = a string column with fewer than 100 distinct
values and fewer than 5 % of rows distinct; numeric = int/float with at most 15 % nulls; a string
column of long values (40 characters on average) is text (a hyperpipe extension: the term test
watches it); anything else is profiled only. Numeric columns get a two-sample Kolmogorov-Smirnov
test with the Wasserstein and energy distances; categorical ones a chi-square test with the
Euclidean distance of their category shares. The family's p-value is Bonferroni over columns.

The coefficient is SDK v1's: the Matthews correlation of a classifier telling baseline rows from
target rows on held-out rows (0: indistinguishable, 1: always told apart); each column's
``datadrift_contribution`` is its share of the classifier's feature importance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hyperpipe.datadrift._result import TestOutcome, bonferroni

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnKinds", "ColumnTest", "column_kinds"]

TEXT_MEAN_LENGTH = 40


class ColumnKinds(dict):
    """column name -> "numeric", "categorical", "text" or "profiled"."""

    def of(self, kind: str) -> list[str]:
        return [name for name, k in self.items() if k == kind]


def column_kinds(frame: pd.DataFrame, exclude: set[str] | None = None) -> ColumnKinds:
    """How each column of the baseline is tested (SDK v1's eligibility rules, plus text)."""
    from pandas.api import types

    kinds = ColumnKinds()
    rows = max(len(frame), 1)
    for name in frame.columns:
        if name in (exclude or set()):
            continue
        column = frame[name]
        if types.is_bool_dtype(column):
            kinds[name] = "categorical"
        elif types.is_numeric_dtype(column):
            kinds[name] = "numeric" if column.isna().mean() <= 0.15 else "profiled"
        elif types.is_object_dtype(column) or types.is_string_dtype(column):
            distinct = column.nunique(dropna=True)
            if distinct < 100 and distinct < 0.05 * rows:
                kinds[name] = "categorical"
            elif column.dropna().astype(str).str.len().mean() >= TEXT_MEAN_LENGTH:
                kinds[name] = "text"
            else:
                kinds[name] = "profiled"
        else:
            kinds[name] = "profiled"
    return kinds


class ColumnTest:
    """Per-column tests and the classifier coefficient against one baseline table."""

    family = "columns"

    def __init__(self, baseline: pd.DataFrame, kinds: ColumnKinds, seed: int = 0) -> None:
        self._baseline = baseline
        self.numeric = kinds.of("numeric")
        self.categorical = kinds.of("categorical")
        self._seed = seed

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def column_metrics(self, target: pd.DataFrame) -> dict[str, dict[str, float]]:
        from scipy import stats

        metrics: dict[str, dict[str, float]] = {}
        for name in self.numeric:
            base = self._baseline[name].dropna().to_numpy(dtype=float)
            new = target[name].dropna().to_numpy(dtype=float)
            if len(base) == 0 or len(new) == 0:
                continue
            metrics[name] = {
                "p_value": float(stats.ks_2samp(base, new).pvalue),
                "wasserstein_distance": float(stats.wasserstein_distance(base, new)),
                "energy_distance": float(stats.energy_distance(base, new)),
            }
        for name in self.categorical:
            base = self._baseline[name].astype(str).value_counts()
            new = target[name].astype(str).value_counts()
            categories = sorted(set(base.index) | set(new.index))
            table = np.vstack(
                [base.reindex(categories, fill_value=0), new.reindex(categories, fill_value=0)]
            )
            p_value = float(stats.chi2_contingency(table).pvalue) if len(categories) >= 2 else 1.0
            shares = table / table.sum(axis=1, keepdims=True)
            metrics[name] = {
                "p_value": p_value,
                "euclidean_distance": float(np.linalg.norm(shares[0] - shares[1])),
            }
        return metrics

    def coefficient(self, target: pd.DataFrame) -> tuple[float, dict[str, float]]:
        """SDK v1's coefficient (MCC on held-out rows, at least 0) and each column's share."""
        import pandas as pd
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.metrics import matthews_corrcoef
        from sklearn.model_selection import train_test_split

        if not self.columns:
            return 0.0, {}
        rng = np.random.default_rng(self._seed)
        size = min(len(self._baseline), len(target))
        base = self._baseline.iloc[rng.choice(len(self._baseline), size, replace=False)]
        new = target.iloc[rng.choice(len(target), size, replace=False)]
        both = pd.concat([base[self.columns], new[self.columns]], ignore_index=True)
        encoded = pd.get_dummies(both, columns=self.categorical, dtype=float).fillna(0.0)
        owners = [_owner(c, self.categorical) for c in encoded.columns]
        labels = np.r_[np.zeros(size), np.ones(size)]
        x_train, x_test, y_train, y_test = train_test_split(
            encoded.to_numpy(), labels, test_size=0.3, random_state=self._seed, stratify=labels
        )
        forest = RandomForestClassifier(
            n_estimators=50, max_depth=8, random_state=self._seed, n_jobs=1
        ).fit(x_train, y_train)
        mcc = max(0.0, float(matthews_corrcoef(y_test, forest.predict(x_test))))
        shares: dict[str, float] = dict.fromkeys(self.columns, 0.0)
        for owner, importance in zip(owners, forest.feature_importances_, strict=True):
            shares[owner] += float(importance)
        return mcc, shares

    def test(self, target: pd.DataFrame) -> TestOutcome:
        metrics = self.column_metrics(target)
        coefficient, shares = self.coefficient(target)
        p_values = [m["p_value"] for m in metrics.values()]
        moved = sorted(metrics.items(), key=lambda item: item[1]["p_value"])
        explanation: list[dict[str, Any]] = [
            {"column": name, **{k: round(v, 6) for k, v in values.items()}}
            for name, values in moved[:10]
        ]
        return TestOutcome(
            family=self.family,
            p_value=bonferroni(p_values),
            window_size=len(target),
            coefficient=round(coefficient, 4),
            statistics={f"p_{name}": values["p_value"] for name, values in metrics.items()},
            explanation=explanation,
            contributions=shares,
        )


def _owner(encoded: str, categorical: list[str]) -> str:
    for name in categorical:
        if encoded.startswith(f"{name}_"):
            return name
    return encoded

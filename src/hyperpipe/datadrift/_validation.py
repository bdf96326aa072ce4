"""SDK v1's validation of a data drift monitor's settings (``_utils/parameter_validator``), each
failure a one-line error naming the value and the fix."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from hyperpipe.exceptions import DatasetTypeError, UserErrorException

__all__ = [
    "BACKFILL_BATCH_LIMIT",
    "DEFAULT_DRIFT_THRESHOLD",
    "FREQUENCIES",
    "MIN_ROWS",
    "check_baseline",
    "check_date",
    "check_drift_threshold",
    "check_feature_list",
    "check_frequency",
    "check_latency",
    "check_name",
    "check_target",
]

NAME = re.compile(r"^[a-zA-Z0-9][\w\-]{0,35}$")
FEATURE = re.compile(r"^[\w.\- ]+$")
FREQUENCIES = ("Day", "Week", "Month")
DEFAULT_DRIFT_THRESHOLD = 0.2
BACKFILL_BATCH_LIMIT = 30
MAX_FEATURES = 200
MIN_ROWS = 50


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise UserErrorException(
            f"data drift monitor name {name!r} is invalid: use 1-36 letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _tabular(dataset: Any) -> bool:
    from hyperpipe.data import TabularDataset

    return isinstance(dataset, TabularDataset)


def check_baseline(dataset: Any) -> Any:
    if not _tabular(dataset):
        raise DatasetTypeError(
            f"baseline_dataset must be a TabularDataset, got {type(dataset).__name__}: create it "
            "with Dataset.Tabular.from_delimited_files(...) or from_parquet_files(...)"
        )
    if dataset.id is None:
        raise UserErrorException(
            "baseline_dataset is not registered: register it first with "
            "dataset.register(workspace, name)"
        )
    return dataset


def check_target(dataset: Any) -> Any:
    if not _tabular(dataset):
        raise DatasetTypeError(
            f"target_dataset must be a TabularDataset, got {type(dataset).__name__}: create it "
            "with Dataset.Tabular.from_delimited_files(...).with_timestamp_columns('timestamp')"
        )
    if dataset.timestamp_columns[0] is None:
        raise DatasetTypeError(
            "target_dataset has no timestamp column: register it with "
            "dataset.with_timestamp_columns('<column>') so each check can pick its window"
        )
    if dataset.id is None:
        raise UserErrorException(
            "target_dataset is not registered: register it first with "
            "dataset.register(workspace, name)"
        )
    return dataset


def check_frequency(frequency: Any) -> str:
    frequency = "Day" if frequency is None else frequency
    if frequency not in FREQUENCIES:
        raise UserErrorException(
            f"frequency {frequency!r} is not supported: use 'Day', 'Week' or 'Month'"
        )
    return frequency


def check_feature_list(features: Any) -> list[str] | None:
    if features is None:
        return None
    if isinstance(features, str) or not isinstance(features, (list, tuple)):
        raise UserErrorException(
            f"feature_list must be a list of column names, got {type(features).__name__}: "
            "e.g. feature_list=['text']"
        )
    if len(features) > MAX_FEATURES:
        raise UserErrorException(
            f"feature_list has {len(features)} names; the limit is {MAX_FEATURES}: monitor fewer "
            "columns"
        )
    for feature in features:
        if not isinstance(feature, str) or "," in feature or not FEATURE.match(feature):
            raise UserErrorException(
                f"feature_list entry {feature!r} is invalid: a column name of letters, digits, "
                "'.', '_', '-' or spaces, without commas"
            )
    return list(features)


def check_drift_threshold(threshold: Any) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise UserErrorException(f"drift_threshold must be a number in [0, 1], got {threshold!r}")
    if not 0 <= threshold <= 1:
        raise UserErrorException(
            f"drift_threshold {threshold} is out of range: use a number in [0, 1] (default 0.2)"
        )
    return float(threshold)


def check_latency(latency: Any) -> int:
    if latency is None:
        return 0
    if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 1000:
        raise UserErrorException(
            f"latency must be a whole number of hours in 0-1000, got {latency!r}"
        )
    return latency


def check_date(value: Any, what: str) -> datetime:
    """A naive UTC datetime from a datetime or date (tz-aware ones are converted)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise UserErrorException(
        f"{what} must be a datetime or date, got {type(value).__name__}: e.g. datetime(2020, 1, 31)"
    )

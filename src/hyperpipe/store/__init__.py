"""``hyperpipe.store``: the metadata store (internal). The only package that speaks SQL."""

from __future__ import annotations

import os
import threading

from hyperpipe.store._base import NewPoint, Store
from hyperpipe.store._records import (
    ArtifactRecord,
    DatasetRecord,
    ExperimentRecord,
    MetricPoint,
    MetricSeries,
    ModelRecord,
    RunRecord,
)
from hyperpipe.store._status import TERMINAL_STATUSES, RunStatus, can_transition

__all__ = [
    "TERMINAL_STATUSES",
    "ArtifactRecord",
    "DatasetRecord",
    "ExperimentRecord",
    "MetricPoint",
    "MetricSeries",
    "ModelRecord",
    "NewPoint",
    "RunRecord",
    "RunStatus",
    "Store",
    "can_transition",
    "get_store",
]

_stores: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def get_store(url_or_store: str | Store) -> Store:
    """The store for a URL, opened once per process (a store instance passes through)."""
    if not isinstance(url_or_store, str):
        return url_or_store
    key = (os.getpid(), url_or_store)
    with _lock:
        store = _stores.get(key)
        if store is None:
            from hyperpipe.store._sql import SqlStore

            store = _stores[key] = SqlStore(url_or_store)
        return store

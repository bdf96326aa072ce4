"""``hyperpipe.store``: the metadata store (internal). The only package that speaks SQL."""

from __future__ import annotations

import os
import threading

from hyperpipe.store._base import NewFire, NewPoint, Store
from hyperpipe.store._records import (
    ArtifactRecord,
    DatasetRecord,
    ExperimentRecord,
    MetricBucket,
    MetricPoint,
    MetricSeries,
    ModelRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    ScheduleFireRecord,
    ScheduleRecord,
    SchedulerRecord,
)
from hyperpipe.store._status import TERMINAL_STATUSES, RunStatus, can_transition

__all__ = [
    "TERMINAL_STATUSES",
    "ArtifactRecord",
    "DatasetRecord",
    "ExperimentRecord",
    "MetricBucket",
    "MetricPoint",
    "MetricSeries",
    "ModelRecord",
    "NewFire",
    "NewPoint",
    "PipelineEndpointRecord",
    "PublishedPipelineRecord",
    "RunRecord",
    "RunStatus",
    "ScheduleFireRecord",
    "ScheduleRecord",
    "SchedulerRecord",
    "Store",
    "can_transition",
    "get_store",
    "warm",
]

_stores: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """Keep this process's stores in a forked child, on new connections.

    The parent's connections must never be used by the child (SQLAlchemy's rule for forking:
    ``dispose(close=False)``); the engines stay, with their compiled-statement caches.
    """
    global _lock
    _lock = threading.Lock()
    inherited = list(_stores.items())
    _stores.clear()
    for (_pid, url), store in inherited:
        engine = getattr(store, "_engine", None)
        if engine is not None:
            engine.dispose(close=False)
        _stores[(os.getpid(), url)] = store


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def warm() -> None:
    """Open the store named by ``HYPERPIPE_STORE_URL`` now, so forked processes inherit it."""
    url = os.environ.get("HYPERPIPE_STORE_URL")
    if url:
        get_store(url).find_run("")


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

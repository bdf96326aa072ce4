"""``hyperpipe.store``: the metadata store (internal). The only package that speaks SQL."""

from __future__ import annotations

import os
import threading

from hyperpipe.store._base import NewFire, NewPoint, Store
from hyperpipe.store._records import (
    ArtifactRecord,
    DataDriftRecord,
    DataDriftRetrainRecord,
    DatasetRecord,
    EnvironmentRecord,
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
    "DataDriftRecord",
    "DataDriftRetrainRecord",
    "DatasetRecord",
    "EnvironmentRecord",
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
    "prepare_fork",
    "warm",
]

_stores: dict[tuple[int, str], Store] = {}
_lock = threading.Lock()


def prepare_fork() -> bool:
    """Close this process's SQLite connections, so that a child forked next inherits none.

    SQLite keeps per-process state about the files it has open (its locks, the WAL index): a
    child that inherits it believes it holds locks it does not, and the parent's exit may then
    checkpoint and delete the WAL under the child's feet. PostgreSQL connections need nothing
    here (the child replaces its pools without touching them). Returns False when a connection
    is in use by another thread: forking then is unsafe.
    """
    with _lock:
        return all(store.release_for_fork() for store in _stores.values())


def _after_fork_in_child() -> None:
    """Keep this process's stores in a forked child, on new connections: the parent's are
    never used by the child (nor closed, see the stores' ``after_fork_in_child``)."""
    global _lock
    _lock = threading.Lock()
    inherited = list(_stores.items())
    _stores.clear()
    for (_pid, url), store in inherited:
        store.after_fork_in_child()  # type: ignore[attr-defined]
        _stores[(os.getpid(), url)] = store


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def warm() -> None:
    """Open the store named by ``HYPERPIPE_STORE_URL`` once, so that a fork server's children
    inherit its imports and compiled statements; its connections are closed again (see
    ``prepare_fork``)."""
    url = os.environ.get("HYPERPIPE_STORE_URL")
    if url:
        get_store(url).find_run("")
        prepare_fork()


def get_store(url_or_store: str | Store) -> Store:
    """The store for a URL, opened once per process (a store instance passes through)."""
    if not isinstance(url_or_store, str):
        return url_or_store
    key = (os.getpid(), url_or_store)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = _open(url_or_store)
        return store


def _open(url: str) -> Store:
    from hyperpipe.store._sqlite import SqliteStore, sqlite_file

    if sqlite_file(url) is not None:
        return SqliteStore(url)
    from hyperpipe.store._sql import SqlStore

    return SqlStore(url)

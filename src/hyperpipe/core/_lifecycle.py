"""Run lifecycle seen from outside the run: crash detection and cancellation.

A run that is not finished records the process responsible for it (host, pid, start time). If
that process is gone and the run never reported an ending, it crashed: whoever notices first
replays its metric journal and marks it ``Crashed`` with the last lines of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from hyperpipe.core import _paths
from hyperpipe.core._metrics import replay_journals
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord, Store

__all__ = ["HOST", "is_alive", "log_tail", "process_identity", "reconcile", "request_cancel"]

HOST = socket.gethostname()
# Runs in these types are driven by a monitoring process; other runs (interactive, children made
# with child_run) are ended by the code that owns them.
MANAGED_TYPES = frozenset(
    {"azureml.scriptrun", "azureml.PipelineRun", "azureml.StepRun", "hyperdrive"}
)


def process_identity(pid: int | None = None) -> dict[str, object]:
    """What to record so a later reader can tell whether this very process is still alive."""
    pid = pid or os.getpid()
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    return {"host": HOST, "pid": pid, "pid_started_at": started}


def is_alive(record: RunRecord) -> bool | None:
    """Whether the run's process lives; None when it cannot be known from this machine."""
    if record.pid is None or record.host != HOST:
        return None
    try:
        process = psutil.Process(record.pid)
        if record.pid_started_at and abs(process.create_time() - record.pid_started_at) > 1.0:
            return False  # the pid was reused by another process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def reconcile(store: Store, record: RunRecord, workspace_root: Path) -> RunRecord:
    """Mark ``record`` Crashed when its process died without reporting; otherwise return it."""
    if record.status.is_terminal() or is_alive(record) is not False:
        return record
    fresh = store.get_run(record.id)  # it may have ended between our read and the check
    if fresh.status.is_terminal():
        return fresh
    replay_journals(store, fresh.key, _paths.journal_dir(workspace_root, fresh.id))
    ended = RunStatus.CANCELED if fresh.status == RunStatus.CANCEL_REQUESTED else RunStatus.CRASHED
    error = None
    if ended == RunStatus.CRASHED:
        error = {
            "error": {
                "code": "ProcessCrashed",
                "message": (
                    f"the process running this run (pid {fresh.pid} on {fresh.host}) ended "
                    "without reporting; it was killed or ran out of memory"
                ),
                "logTail": log_tail(fresh),
            }
        }
    return store.set_status(fresh.id, ended, error=error, strict=False)


def request_cancel(store: Store, record: RunRecord) -> RunRecord:
    """Ask a run to stop. A managed run's monitor is signalled and ends it as Canceled."""
    if record.status.is_terminal():
        return record
    if record.run_type not in MANAGED_TYPES:
        return store.set_status(record.id, RunStatus.CANCELED, strict=False)
    updated = store.set_status(record.id, RunStatus.CANCEL_REQUESTED, strict=False)
    if is_alive(updated):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(updated.pid, signal.SIGTERM)  # type: ignore[arg-type]
    return updated


def log_tail(record: RunRecord, lines: int = 30) -> str:
    """The last ``lines`` lines of the run's driver log, if it is on this machine."""
    path = driver_log_path(record)
    if path is None or not path.is_file():
        return ""
    with open(path, "rb") as log:
        log.seek(0, os.SEEK_END)
        size = log.tell()
        log.seek(max(0, size - 64 * 1024))
        text = log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def driver_log_path(record: RunRecord) -> Path | None:
    """Where the run's stdout/stderr is written on the machine that executes it."""
    log = record.definition.get("log_path")
    return Path(log) if log else None

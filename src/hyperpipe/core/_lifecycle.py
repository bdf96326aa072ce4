"""Run lifecycle seen from outside the run: crash detection, cancellation, leftover processes.

A run that is not finished records the process responsible for it (host, pid, start time): its
submitter until the driver starts, then the driver (monitor, orchestrator, sweep driver). If that
process is gone and the run never reported an ending, it crashed: whoever notices first stops what
the run left running, replays its metric journal and marks it ``Crashed`` (``Canceled`` if a
cancel was asked for) with the last lines of its log, then judges its unfinished children the
same way. A signal only ever goes to a process whose pid and start time match the record.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperpipe.compute._process import (
    ProcessIdentity,
    kill_group_leftovers,
    kill_owned,
    start_time,
)
from hyperpipe.core import _paths
from hyperpipe.core._metrics import replay_journals
from hyperpipe.exceptions import StoreUnwritableError
from hyperpipe.store import RunStatus

if TYPE_CHECKING:
    from hyperpipe.store import RunRecord, Store

__all__ = [
    "HOST",
    "clear_run_folder",
    "identity_fields",
    "is_alive",
    "left_running",
    "log_tail",
    "lost_with_driver",
    "owned_by",
    "process_identity",
    "reconcile",
    "request_cancel",
    "stop_task_processes",
    "task_process",
    "why_gone",
]

HOST = os.uname().nodename  # what socket.gethostname() says, without loading socket
# A driver (monitor, orchestrator, sweep driver) stamps its run this often; a reader on another
# machine, which cannot check host and pid, takes a stamp older than HEARTBEAT_STALE_S for a dead
# driver, so such a run is seen Crashed within about 30 s of its driver's death.
HEARTBEAT_S = 5.0
HEARTBEAT_STALE_S = 20.0
# Runs in these types are driven by a monitoring process; other runs (interactive, children made
# with child_run) are ended by the code that owns them.
MANAGED_TYPES = frozenset(
    {"azureml.scriptrun", "azureml.PipelineRun", "azureml.StepRun", "hyperdrive"}
)


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """What to record so a later reader can tell whether this very process is still alive."""
    pid = pid or os.getpid()
    return {"host": HOST, "pid": pid, "pid_started_at": start_time(pid)}


def identity_fields(record: RunRecord) -> dict[str, Any]:
    """The record's process identity, as ``set_status(if_fields=...)`` takes it."""
    return {"host": record.host, "pid": record.pid, "pid_started_at": record.pid_started_at}


def owned_by(record: RunRecord, identity: dict[str, Any]) -> bool:
    """Whether ``identity`` (a ``process_identity()``) is the process responsible for the run."""
    return identity_fields(record) == identity


def is_alive(record: RunRecord) -> bool | None:
    """Whether the run's process lives; None when it cannot be known from this machine.

    On the run's own machine the process is checked (pid and start time); elsewhere its
    heartbeat says, when it keeps one."""
    if record.pid is None:
        return None
    if record.host != HOST:
        if record.heartbeat_at is None:
            return None
        return time.time() - record.heartbeat_at <= HEARTBEAT_STALE_S
    if record.pid_started_at is None:
        import psutil

        return psutil.pid_exists(record.pid)
    return ProcessIdentity(record.pid, record.pid_started_at).alive()


def task_process(record: RunRecord) -> ProcessIdentity | None:
    """The process that runs the run's script (a step's, a trial's), when one was started."""
    return ProcessIdentity.from_json(record.definition.get("process"))


# The statuses of a run whose script may have been started (launchers start it once Preparing).
_MAY_HAVE_STARTED = frozenset(
    {RunStatus.PREPARING, RunStatus.RUNNING, RunStatus.CANCEL_REQUESTED, RunStatus.FINALIZING}
)


def stop_task_processes(record: RunRecord, grace_s: float = 2.0) -> None:
    """Stop what is left of the run's script: the process if it is still the one recorded, and
    what remains of its process group (recognised by group, start time and owner). With no
    process recorded (its monitor died just after starting it), what carries the run as its
    owner and started since the run was created."""
    if record.host not in (None, HOST):
        return
    identity = task_process(record)
    if identity is None:
        if record.status in _MAY_HAVE_STARTED:  # (a run waiting for a slot started nothing)
            kill_owned([record.id], record.created_at)
        return
    if identity.alive():
        identity.kill_tree(grace_s, owners=[record.id, record.parent_id])
    else:
        kill_group_leftovers(identity, [record.id, record.parent_id])


def reconcile(
    store: Store, record: RunRecord, workspace_root: Path, *, _parent: RunRecord | None = None
) -> RunRecord:
    """Mark ``record`` Crashed when its process died without reporting; otherwise return it.

    Its unfinished children are judged next; those whose process was the same one end with the
    code ``DriverLost`` (a resumed sweep runs such trials again).
    """
    if record.status.is_terminal() or is_alive(record) is not False:
        return record
    fresh = store.get_run(record.id)  # it may have ended, or been resumed, since our read
    if fresh.status.is_terminal() or is_alive(fresh) is not False:
        return fresh
    stop_task_processes(fresh)
    ended = RunStatus.CANCELED if fresh.status == RunStatus.CANCEL_REQUESTED else RunStatus.CRASHED
    error = None
    if ended == RunStatus.CRASHED:
        lost = _parent is not None and identity_fields(_parent) == identity_fields(fresh)
        error = {
            "error": {
                "code": "DriverLost" if lost else "ProcessCrashed",
                "message": (
                    f"the process driving this run (pid {fresh.pid} on {fresh.host}) stopped "
                    "while it ran"
                    if lost
                    else f"the process running this run (pid {fresh.pid} on {fresh.host}) "
                    f"ended without reporting; {why_gone(fresh.pid)}"
                ),
                "logTail": log_tail(fresh),
            }
        }
    try:
        replay_journals(store, fresh.key, _paths.journal_dir(workspace_root, fresh.id))
        final = store.set_status(
            fresh.id, ended, error=error, strict=False, if_fields=identity_fields(fresh)
        )
    except StoreUnwritableError:
        # A full or read-only store must not hide how the run ended: say it now, and record
        # it on a read once the store takes writes again (the judgement is the same then).
        import dataclasses

        return dataclasses.replace(fresh, status=ended, error=error)
    if final.status.is_terminal():
        for child in store.list_runs(parent_id=final.id, newest_first=False):
            if not child.status.is_terminal():
                reconcile(store, child, workspace_root, _parent=fresh)
    return final


def clear_run_folder(store: Store, record: RunRecord, workspace_root: Path) -> None:
    """Remove a run's local folder, storing first the metric values its journals hold (a
    process that died, or a driver that could not finish the run, left them there)."""
    replay_journals(store, record.key, _paths.journal_dir(workspace_root, record.id))
    from hyperpipe.data._materialize import remove_tree

    remove_tree(_paths.run_dir(workspace_root, record.id))


def lost_with_driver(record: RunRecord) -> bool:
    """Whether the run was cut short because the process driving it stopped."""
    return (record.error or {}).get("error", {}).get("code") == "DriverLost"


def request_cancel(store: Store, record: RunRecord, workspace_root: Path) -> RunRecord:
    """Ask a run to stop. A managed run's process is signalled and ends it as Canceled; a run
    whose process is gone ends Canceled at once."""
    if record.status.is_terminal():
        return record
    if record.run_type not in MANAGED_TYPES:
        return store.set_status(record.id, RunStatus.CANCELED, strict=False)
    updated = store.set_status(record.id, RunStatus.CANCEL_REQUESTED, strict=False)
    alive = is_alive(updated)
    if alive and updated.pid_started_at is not None:
        ProcessIdentity(updated.pid, updated.pid_started_at).send(signal.SIGTERM)  # type: ignore[arg-type]
    elif alive is False:
        return reconcile(store, updated, workspace_root)
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


def left_running(run_id: str, kind: str = "run") -> None:
    """Say, on stderr, that a run whose wait was interrupted (Ctrl-C) goes on in the background,
    and how to follow or cancel it: its driver is a process of its own, not the one waiting."""
    import sys

    group = "pipelines" if kind == "pipeline run" else "runs"
    sys.stderr.write(
        f"\nStopped waiting. The {kind} {run_id} goes on in the background.\n"
        f"  follow it:  hyperpipe runs logs --follow {run_id}\n"
        f"  cancel it:  hyperpipe {group} cancel {run_id}  (or run.cancel() in Python)\n"
    )
    sys.stderr.flush()


def why_gone(pid: int | None) -> str:
    """What is known of why a detached process ended without a word. Its exit code and signal went
    to no parent that could record them (it is re-parented to init), so the kernel's log is the
    one witness: an out-of-memory kill of the pid is named there, when the log can be read."""
    if pid is None:
        return "it was killed or ran out of memory"
    records = _kernel_log()
    if records is None:
        return (
            "it was killed or ran out of memory (the kernel's log, which would say which, "
            "cannot be read here)"
        )
    for record in reversed(records):
        text = record.split(";", 1)[-1].strip()
        if f"Killed process {pid} " in text or (f"pid={pid}," in text and "oom" in text):
            return f"the kernel's out-of-memory killer ended it ({text[:160]})"
    return (
        f"not by the kernel's out-of-memory killer (its log has no kill of pid {pid}): most "
        "likely a SIGKILL, or the machine restarted"
    )


def _kernel_log() -> list[str] | None:
    """The kernel's log records (``/dev/kmsg``), or None where this process may not read them."""
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    records = []
    try:
        while True:
            try:
                records.append(os.read(fd, 8192).decode("utf-8", errors="replace"))
            except BlockingIOError:
                break
            except OSError:  # EPIPE: a record was overwritten while reading; go on
                continue
    finally:
        os.close(fd)
    return records
